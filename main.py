"""Train and validate a 3D CNN on UCF101 / HMDB51 / Kinetics JPEG frames.

    python main.py --root_path DATA --video_path UCF101/jpg --annotation_path UCF101/ucf101_01.json \
        --result_path results --dataset ucf101 --model resnet --model_depth 18 --n_classes 101

Continue a run:  python main.py ... --resume_path results/last.pdparams   (model flags come from it)
Multi-GPU:  python -m paddle.distributed.launch --gpus 0,1,2,3 main.py ...
Multi-process CPU: python -m paddle.distributed.launch --nproc_per_node 2 main.py ... --device cpu
Validation accuracy here is clip accuracy (as the reference's val.log); test.py gives video accuracy, and
--inference (CVPR2018 spelling: --test) runs test.py's evaluation of the final weights after training,
writing <result_path>/val.json (<subset>.json with --test_subset / --inference_subset).
The pieces (set-up, data, state, fit) live in engine/training.py; the flags are opts.py's main_parser.
"""
import os
import shlex
import sys

from core.preload import before_paddle, quiet_paddle

before_paddle()  # before Paddle loads: MKL path and log level (core/preload.py); main() re-applies --verbose

from core.errors import UserError, run_command  # noqa: E402
from core.flags import check_output_folder  # noqa: E402
from core.locks import check_resume_folder, lock_folder  # noqa: E402
from engine import training  # noqa: E402
from engine.evaluation import check_checkpoint_paths, evaluate_after_training  # noqa: E402
from engine.logger import visualdl_command  # noqa: E402
from opts import parse_main  # noqa: E402


def run(config, flags):
    """Train (unless --no_train) and validate, then --inference; returns the last epoch's metrics."""
    result_path, train = config.run.result_path, config.train
    check_output_folder(result_path, '--result_path')
    check_something_to_do(train)  # flags that would train and validate nothing: before the folder is touched
    check_resume_folder(result_path, train.resume_path)  # a run continues in its own folder or in a new one
    if int(os.environ.get('PADDLE_TRAINER_ID') or 0) == 0:  # one lock per run (rank 0 of a launch)
        lock_folder(result_path, '--result_path')
    if train.inference and train.no_train:
        check_checkpoint_paths(train.resume_path, train.pretrain_path)  # named before anything is written
        if train.no_val:
            return {'inference': evaluate_after_training(config)}
    setup = training.set_up(config)
    resumed, config = training.resumed_checkpoint(config)
    if resumed is not None and not train.no_train and int(resumed.get('epoch') or 0) >= train.n_epochs:
        print(f"{train.resume_path}: already finished at epoch {resumed['epoch']}: nothing to train; "
              f"use --n_epochs N to continue (N > {resumed['epoch']})", flush=True)
        return {}
    pretrained, config = training.pretrained_checkpoint(config)
    data = training.build_data(config, setup)
    state = training.build_state(config, setup, resumed, pretrained, data.class_names)
    options = {**vars(flags), **config.record()}  # every flag, with the model options the checkpoint gave
    if setup.is_main:  # only now that the input is known to be usable: a bad command leaves nothing behind
        training.write_options(result_path, options, resumed=bool(train.resume_path))
    logs = training.RunLogs(result_path, data, setup, state.begin_epoch, resumed=bool(train.resume_path),
                            vdl=config.run.vdl)
    try:
        if not data.train_loader:
            metrics = training.validate_only(state, data, config, setup, logs)
        else:
            metrics = training.fit(state, data, config, setup, logs)
            logs.hparams(options, config.given, metrics, train.n_epochs)
    finally:
        logs.close()
    if train.inference and setup.is_main:
        metrics['inference'] = evaluate_after_training(config)
    if not data.train_loader:
        return metrics
    if setup.world_size > 1:
        print(f'rank {setup.rank}/{setup.world_size} parameter checksum '
              f'{training.parameter_checksum(state.model):.6e}', flush=True)
    if setup.is_main and not metrics.get('train'):  # no epoch ran, so no checkpoint was written
        print(f'nothing trained: epochs {state.begin_epoch}..{train.n_epochs} is empty; no checkpoint written')
        return metrics
    if setup.is_main:
        print(f'done: best validation clip accuracy {state.best_acc:.4f}; checkpoints in '
              f'{os.path.abspath(result_path)}')
        print('\n'.join(next_commands(config)), flush=True)
    return metrics


def check_something_to_do(train):
    """Refuse flags that would run no epoch and no validation (before anything is read or written); a
    resumed run that already reached --n_epochs is reported after its checkpoint is read."""
    if train.no_train and train.no_val and not train.inference:
        raise UserError('--no_train and --no_val: nothing to do; drop one of them, or add --inference '
                        '(with --resume_path) to evaluate a checkpoint')
    if not train.no_train and not train.resume_path and train.begin_epoch > train.n_epochs:
        raise UserError(f'--begin_epoch {train.begin_epoch} is after --n_epochs {train.n_epochs}: nothing to '
                        f'train; pass --n_epochs N with N >= {train.begin_epoch}')


def next_commands(config):
    """The commands that continue from this run, with absolute paths: --root_path prefixes only relative
    paths, so they are right whatever the current folder and whatever --root_path they are run with."""
    data, run = config.data, config.run
    result = os.path.abspath(run.result_path)
    here = os.path.dirname(os.path.abspath(__file__))
    test = [sys.executable, os.path.join(here, 'test.py'),
            '--video_path', os.path.abspath(data.video_path), '--annotation_path', os.path.abspath(data.annotation_path),
            '--dataset', data.dataset, '--result_path', result.rstrip(os.sep) + '_val',
            '--resume_path', os.path.join(result, 'last.pdparams'),
            '--batch_size', str(config.train.batch_size), '--n_threads', str(data.n_threads)]
    if run.device != 'auto':
        test += ['--device', run.device]
    return ['next:',
            '  video accuracy of the last epoch (best.pdparams: the best validation epoch):',
            '    ' + shlex.join(test),
            '  curves and evaluation (VisualDL): ' + visualdl_command(os.path.join(result, 'vdl'),
                                                                  result.rstrip(os.sep) + '_val' + os.sep + 'vdl')
            + (' (--no_vdl: none written)' if not run.vdl else ''),
            '  more epochs: the same command with --n_epochs N --resume_path '
            + shlex.quote(os.path.join(result, 'last.pdparams'))]


def main(argv=None):
    """Returns the metrics of the last epoch. Bad input, an unwritable --result_path, SIGINT and SIGTERM
    end with one 'error: ...' line (core.errors.run_command); an interrupted run says how to resume."""
    config, flags = parse_main(sys.argv[1:] if argv is None else list(argv))
    quiet_paddle(config.run.verbose)
    return run_command(run, config, flags, output=config.run.result_path)


if __name__ == '__main__':
    main()
