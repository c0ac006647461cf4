"""Export a checkpoint as a static Paddle model for paddle.inference (deployment, scripts/predict.py).

    python scripts/export_model.py --checkpoint results/save_200.pdparams --output export/r3d18
    python scripts/predict.py VIDEO.avi --inference_model export/r3d18

Writes into --output: `model.json` + `model.pdiparams` (Paddle 3, PIR program) or `model.pdmodel` +
`model.pdiparams` (Paddle 2.x), and `model_info.json` (architecture, model options, class names and the
preprocessing: sample_size, sample_duration, norm_value, mean, std). The input is
`x: float32 [N, 3, sample_duration, sample_size, sample_size]` (N free), the output the class logits.

Model options come from the checkpoint (flags may only repeat them). After saving, the exported model is
run through paddle.inference on a random clip and compared with the dynamic model (max abs difference
must be <= --tolerance, default 1e-4; --no_verify skips this). The files are built and checked in a
temporary folder next to --output and only then moved in, so a failed export leaves the previous one as it was.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time

from core.preload import before_paddle, quiet_paddle  # noqa: E402

before_paddle()  # first: the signal handlers of a command's start, MKL path and log level (core/preload.py)

import numpy as np  # noqa: E402

from core.errors import WRITE_ERRNOS, BadInput, UserError, run_command  # noqa: E402
from core.flags import check_flags, check_output_folder  # noqa: E402
from engine.inference import MODEL_INFO, DynamicModel, InferenceModel, find_inference_files, model_from_checkpoint  # noqa: E402,E501
from engine.runtime import select_device  # noqa: E402
from opts import parse_test  # noqa: E402


def build_parser():
    p = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split('\n\n')[0],
                                epilog='Any other opts.py option (e.g. --sample_size, --sample_duration) is passed '
                                       'on; they fix the exported input shape and must match training.')
    p.add_argument('--checkpoint', required=True,
                   help='.pdparams written by main.py (or a bare / converted state_dict)')
    p.add_argument('--output', required=True, help='folder to write the static model into (created if missing)')
    p.add_argument('--name', default='model', help='file name prefix inside --output (default: model; a plain name, no folder)')
    p.add_argument('--no_verify', action='store_true', help='skip the paddle.inference vs dynamic comparison')
    p.add_argument('--tolerance', type=float, default=1e-4, help='max abs logit difference allowed by the check')
    return p


def export(model, config, output, name='model'):
    """paddle.jit.save the eval-mode `model` with input [None, C, T, S, S]; returns (model_file, params_file)."""
    import paddle
    from paddle.static import InputSpec
    model.eval()
    data = config.data
    spec = [InputSpec([None, config.model.n_input_channels, int(data.sample_duration), int(data.sample_size),
                       int(data.sample_size)], 'float32', 'x')]
    os.makedirs(output, exist_ok=True)
    try:
        static = paddle.jit.to_static(model, input_spec=spec, full_graph=True)
        paddle.jit.save(static, os.path.join(output, name))
    except OSError as e:
        if e.errno in WRITE_ERRNOS:  # a full or read-only disk: 'cannot write', not a failed export
            raise
        raise UserError(f'paddle.jit.save failed for {config.model.arch} ({type(e).__name__}: {e})') from None
    except Exception as e:  # dy2static reports many internal exception types
        raise UserError(f'paddle.jit.save failed for {config.model.arch} ({type(e).__name__}: '
                           f'{str(e).strip().splitlines()[0] if str(e).strip() else ""})') from None
    return find_inference_files(output)


def model_info(config, checkpoint, files, path):
    """model_info.json: the model, its classes and the input options predict.py applies (as a checkpoint's data_opts)."""
    import paddle
    data = config.data
    return {'arch': config.model.arch, 'checkpoint': os.path.abspath(path), 'epoch': checkpoint.get('epoch'),
            'model_opts': config.model.record(),
            'n_classes': config.model.n_classes, 'class_names': checkpoint.get('class_names'),
            'input_name': 'x', 'input_shape': [None, 3, data.sample_duration, data.sample_size, data.sample_size],
            'output': 'logits', **data.record(), 'model_file': os.path.basename(files[0]),
            'params_file': os.path.basename(files[1]), 'paddle_version': paddle.__version__}


def verify(model, data, directory, tolerance=1e-4, seed=0):
    """Max abs difference between paddle.inference on the export and the dynamic model on 2 random clips."""
    rng = np.random.default_rng(seed)
    shape = (2, 3, int(data.sample_duration), int(data.sample_size), int(data.sample_size))
    clips = (rng.standard_normal(shape) * 50).astype(np.float32)  # inputs in the [0, 255] - mean range
    expected = DynamicModel(model)(clips)
    got = InferenceModel(directory)(clips)
    diff = float(np.abs(expected - got).max())
    if not np.isfinite(diff) or diff > tolerance:
        raise UserError(f'{directory}: paddle.inference output differs from the dynamic model by {diff:.3g} '
                           f'(> {tolerance:g})')
    return diff


def parse_args(argv):
    """(export_model.py's own options, the Config of test.py's flags it passes on)."""
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    check_flags(parser, args)
    if not args.name or args.name != os.path.basename(args.name) or args.name in ('.', '..'):
        parser.error(f'--name {args.name!r} must be a plain file name (the files go into --output)')
    return args, parse_test(rest, description='options passed on by export_model.py', prog=parser.prog)[0]


def swap_in(staging, output):
    """Move the checked files of ``staging`` into ``output`` (replacing earlier files of the same names only)."""
    os.makedirs(output, exist_ok=True)
    for name in sorted(os.listdir(staging)):
        os.replace(os.path.join(staging, name), os.path.join(output, name))


def run(args, config):
    """Export into a temporary folder next to --output, check it there, then move the files in: a failed
    export leaves the previous one untouched."""
    check_output_folder(args.output, '--output')
    if os.path.abspath(args.checkpoint).startswith(os.path.abspath(args.output) + os.sep) and \
            os.path.basename(args.checkpoint).startswith(args.name + '.'):
        raise BadInput(f'--name {args.name} would replace the checkpoint {args.checkpoint}; choose another --name')
    select_device('cpu')  # export and check on the CPU; the static program runs on any device
    model, checkpoint, config = model_from_checkpoint(args.checkpoint, config)
    parent = os.path.dirname(os.path.abspath(args.output))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f'.{os.path.basename(os.path.abspath(args.output))}.export-', dir=parent)
    try:
        start = time.time()
        files = export(model, config, staging, args.name)
        info = model_info(config, checkpoint, files, args.checkpoint)
        with open(os.path.join(staging, MODEL_INFO), 'w') as f:
            json.dump(info, f, indent=2)
        if not args.no_verify:
            diff = verify(model, config.data, staging, args.tolerance)
        swap_in(staging, args.output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    files = tuple(os.path.join(args.output, os.path.basename(f)) for f in files)
    data = config.data
    print(f'exported {config.model.arch} ({config.model.n_classes} classes, input [N, 3, {data.sample_duration}, '
          f'{data.sample_size}, {data.sample_size}]) to {files[0]} + {os.path.basename(files[1])} in '
          f'{time.time() - start:.1f} s')
    if not info['class_names']:
        print('note: the checkpoint stores no class names; give predict.py --annotation_path')
    if not args.no_verify:
        print(f'check: paddle.inference matches the dynamic model (max abs difference {diff:.2g})')
    return files


def main(argv=None):
    args, config = parse_args(sys.argv[1:] if argv is None else list(argv))
    quiet_paddle(config.run.verbose)
    return run_command(run, args, config, output=args.output)


if __name__ == '__main__':
    main()
