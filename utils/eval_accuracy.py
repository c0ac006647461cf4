"""Video accuracy of a prediction file (val.json from test.py, or from the reference code).

The computation is engine/video_accuracy.py's, the one test.py uses while predicting. Run as a script
it evaluates a prediction file against an annotation file:

    python utils/eval_accuracy.py ucf101_01.json results_val/val.json [--subset validation] [-k 1]

The protocol is the one of the reference (Hara et al., CVPR 2018; kenshohara/3D-ResNets-PyTorch
`utils/eval_ucf101.py` / `util_scripts/eval_accuracy.py`): a ground-truth video counts as correct at
top-k when its label is among the k highest-scored labels stored for it; a video without prediction
counts as wrong (pass --ignore to leave it out of the denominator instead).
"""
import argparse
import os
import sys


from datasets.annotation import subset_name
from core.errors import UserError, run_command
from core.flags import check_flags, check_output_file
from engine.video_accuracy import evaluate, load_ground_truth, load_results

# ----------------------------------------------------------------------------------------------
# Command line (shared by utils/eval_ucf101.py, eval_hmdb51.py, eval_kinetics.py)
# ----------------------------------------------------------------------------------------------

def build_parser(prog=None, description=None):
    parser = argparse.ArgumentParser(allow_abbrev=False, prog=prog, description=description or __doc__.split('\n\n')[0])
    parser.add_argument('ground_truth_path', help='annotation JSON (e.g. ucf101_01.json)')
    parser.add_argument('result_path', help='prediction JSON written by test.py (e.g. results_val/val.json)')
    parser.add_argument('-k', '--top_k', type=int, default=1, help='top-k accuracy (default 1)')
    parser.add_argument('--subset', default='validation',
                        help="annotation subset: validation (default) | training | testing (or val/train/test)")
    parser.add_argument('--ignore', action='store_true',
                        help='leave ground-truth videos without prediction out (default: count them as wrong)')
    parser.add_argument('--save', action='store_true', help='also write top{k}.txt next to the prediction file')
    parser.add_argument('--verbose', action='store_true', help='list the videos without prediction')
    return parser


def evaluate_file(ground_truth_path, result_path, subset='validation', top_k=1, ignore=False, **cli):
    """Accuracy (a float) of result_path on ground_truth_path, printed as by the command line;
    ``cli`` are main()'s prog / description / alternative_key of the dataset's script."""
    argv = [ground_truth_path, result_path, '--subset', subset, '-k', str(top_k)] + (['--ignore'] if ignore else [])
    return main(argv, **cli)['accuracy']


def main(argv=None, prog=None, alternative_key=None, description=None):
    """Prints the accuracy and returns engine.video_accuracy.evaluate's dict; bad input exits with one
    'error: ...' line (status 1)."""
    parser = build_parser(prog, description)
    args = check_flags(parser, parser.parse_args(argv))
    return run_command(run, args, alternative_key)


def top_k_file(args):
    return os.path.join(os.path.dirname(os.path.abspath(args.result_path)), f'top{args.top_k}.txt')


def run(args, alternative_key=None):
    if args.save:
        check_output_file(top_k_file(args), '--save', inputs=[args.ground_truth_path, args.result_path],
                          suffixes=('.txt',))
    ground_truth, labels = load_ground_truth(args.ground_truth_path, args.subset)
    if not ground_truth:
        raise UserError(f'{args.ground_truth_path}: no labelled videos in subset {subset_name(args.subset)!r}')
    results = load_results(args.result_path)
    shortest = min((len(v) for v in results.values()), default=0)
    if results and shortest < min(args.top_k, len(labels) or args.top_k):
        print(f'warning: some videos have only {shortest} stored labels (< k={args.top_k}); '
              f'rerun test.py with --output_topk {args.top_k}', file=sys.stderr)
    r = evaluate(ground_truth, results, args.top_k, args.ignore, alternative_key)
    print(f'ground truth: {r["n_ground_truth"]} videos ({subset_name(args.subset)}), '
          f'predictions: {r["n_results"]} videos')
    if r['n_missing']:
        how = 'left out (--ignore)' if args.ignore else 'counted as wrong'
        print(f'{r["n_missing"]} ground-truth videos have no prediction: {how}')
        if args.verbose:
            for video_id in r['missing']:
                print(f'  no prediction: {video_id}')
    print(f'top-{args.top_k} accuracy: {r["accuracy"]:.6f} ({r["n_correct"]}/'
          f'{r["n_ground_truth"] - (r["n_missing"] if args.ignore else 0)})')
    if args.save:
        with open(top_k_file(args), 'w') as f:
            f.write(str(r['accuracy']))
    return r


def dataset_script(prog, doc, alternative_key=None):
    """(evaluate_file, main) of a dataset's accuracy script (utils/eval_ucf101.py, ...): this one with
    the script's name, description (the first paragraph of ``doc``) and video-id matching."""
    cli = dict(prog=prog, alternative_key=alternative_key, description=doc.split('\n\n')[0])

    def dataset_evaluate_file(ground_truth_path, result_path, **options):
        return evaluate_file(ground_truth_path, result_path, **options, **cli)

    def dataset_main(argv=None):
        return main(argv, **cli)

    return dataset_evaluate_file, dataset_main


if __name__ == '__main__':
    main()
