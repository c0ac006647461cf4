"""Kinetics video accuracy of a prediction file (val.json from test.py, or from the reference code).

    python utils/eval_kinetics.py kinetics.json results_val/val.json [--subset validation] [-k 1] [--ignore]

The Python 3 replacement of the reference's Python 2 utils/eval_kinetics.py; the protocol and the
options are utils/eval_accuracy.py's. Kinetics ground-truth ids are '<youtube_id>_<start>_<end>'; a
prediction keyed either by that id or by the bare youtube id (the reference's test.py) is matched.
"""

from engine.video_accuracy import strip_kinetics_suffix
from utils.eval_accuracy import dataset_script

evaluate_file, main = dataset_script('eval_kinetics.py', __doc__, alternative_key=strip_kinetics_suffix)

if __name__ == '__main__':
    main()
