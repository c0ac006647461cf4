"""UCF-101 video accuracy of a prediction file (val.json from test.py, or from the reference code).

    python utils/eval_ucf101.py ucf101_01.json results_val/val.json [--subset validation] [-k 1] [--ignore]

The Python 3 replacement of the reference's Python 2 utils/eval_ucf101.py; the protocol and the
options are utils/eval_accuracy.py's. Prints 'top-k accuracy: X'.
"""

from utils.eval_accuracy import dataset_script

evaluate_file, main = dataset_script('eval_ucf101.py', __doc__)

if __name__ == '__main__':
    main()
