"""Video-level evaluation of a checkpoint: the reference's test protocol and its val.json.

    python test.py --root_path DATA --video_path UCF101/jpg --annotation_path UCF101/ucf101_01.json \
        --result_path results_val --dataset ucf101 --n_classes 101 \
        --resume_path results/save_55.pdparams --model resnet --model_depth 18 --batch_size 128

Every video of --test_subset (default val) is cut into non-overlapping --sample_duration-frame
windows (the last one loop-padded; --inference_stride changes the step), each window is scaled to
--sample_size / --scale_in_test and cropped at --crop_position_in_test (centre by default), and the
softmax of the clip scores (raw scores with --no_softmax_in_test) is averaged per video. This video-level
top-1 is what the paper reports (42.4 % for ResNet-18 from scratch on UCF-101 split 1); main.py's
val.log holds clip accuracy. The newer reference's --inference_crop nocrop, --inference_no_average and
--inference_batch_size work here too, plus --inference_crop three_crop (docs/EVALUATION.md); main.py
--inference (or --test) runs this same evaluation after training.

Writes to --result_path (created if missing):
  <subset>.json        {"results": {video_id: [{"label", "score"}, ...]}} for every video (top --output_topk)
  per_class.csv        video accuracy per class and the class each one is most often mistaken for
  confusion.png        row-normalised confusion matrix
  <subset>_metrics.json clip top-1, video top-1/top-5, counts, checkpoint and test options

--resume_path and --pretrain_path both name the checkpoint to evaluate; its classifier is kept (the
reference replaced it under --pretrain_path, issue #52). A checkpoint written by main.py carries its
model options, which are used for every model flag not given on the command line; a given flag that
disagrees is an error naming the option.

The evaluation itself is engine/evaluation.py (importable: `test` is also a standard-library package, so a
notebook calls engine.evaluation.evaluate_checkpoint with opts.parse_test's Config); this file is the command.
"""
import sys

from core.preload import before_paddle, quiet_paddle

before_paddle()  # before Paddle loads: MKL path and log level (core/preload.py); --verbose keeps the noise

from core.errors import run_command  # noqa: E402
from engine.evaluation import check_checkpoint_paths, evaluate_checkpoint  # noqa: E402
from opts import parse_test  # noqa: E402


def run(config, flags):
    check_checkpoint_paths(flags.resume_path, flags.pretrain_path)
    return evaluate_checkpoint(config)


def main(argv=None):
    """test.py's command: evaluate and return the metrics dict. Bad input exits with one 'error: ...'
    line (SystemExit, status 1)."""
    config, flags = parse_test(sys.argv[1:] if argv is None else list(argv))
    quiet_paddle(config.run.verbose)
    return run_command(run, config, flags, output=config.run.result_path)


if __name__ == '__main__':
    main()
