"""Reference users at home (issue 15): every option of both reference branches' opts.py
(tests/commands/reference_options.json) is accepted with the reference's meaning or refused with one error line
that names the flag and what to use instead; no command takes an abbreviation for a longer flag."""
import ast
import json
import os

import numpy as np
import pytest

from opts import parse_opts
from tests.fixtures import REPO, make_frame_dataset, run, run_test_py, tiny_run_args

with open(os.path.join(REPO, 'tests', 'commands', 'reference_options.json')) as f:
    REFERENCE = json.load(f)['branches']

# (option, value or None for a flag): what is refused here, each with the word its error must contain.
REFUSED = {
    ('accimage', None): '--loader fast',
    ('tensorboard', None): 'visualdl_server.py --logdir', ('distributed', None): 'python -m paddle.distributed.launch',
    ('dist_url', 'tcp://127.0.0.1:23456'): 'paddle.distributed.launch',
    ('world_size', '-1'): 'paddle.distributed.launch',
    ('input_type', 'flow'): 'RGB', ('dataset', 'mit'): 'Moments in Time',
    ('mean_dataset', '0.5'): '--value_scale',  # the newer reference's value_scale default is 1; here it must be given
}


def reference_cases():
    """(branch, option, argv) for each option with its default and every value its help lists."""
    for branch, spec in REFERENCE.items():
        for name, option in spec['options'].items():
            if option['type'] == 'flag':
                yield pytest.param(name, None, [f'--{name}'], id=f'{branch}:--{name}')
                continue
            values = option.get('values') or [option['default']]
            for value in values:
                if value is None:  # a path without default
                    value = 'data'
                argv = [f'--{name}'] + ([str(v) for v in value] if isinstance(value, list) else [str(value)])
                yield pytest.param(name, ' '.join(argv[1:]), argv, id=f'{branch}:{" ".join(argv)}')


@pytest.mark.parametrize('name, value, argv', list(reference_cases()))
def test_every_reference_option_is_accepted_or_refused_in_one_line(name, value, argv, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    refused = REFUSED.get((name, value))
    if refused is None:
        parse_opts(argv)
    else:
        with pytest.raises(SystemExit) as exit_info:
            parse_opts(argv)
        assert exit_info.value.code == 2
        errors = [line for line in capsys.readouterr().err.splitlines() if 'error:' in line]
        assert len(errors) == 1 and f'--{name}' in errors[0] and refused in errors[0], errors
    assert os.listdir(tmp_path) == []


def test_both_branches_lists_are_complete():
    # the counts of add_argument calls in the two opts.py (docs: reference-3d-resnets.md section 1)
    assert len(REFERENCE['CVPR2018']['options']) == 48 and len(REFERENCE['master']['options']) == 66


def test_new_reference_spellings_have_the_reference_meaning():
    opt = parse_opts(['--test'])  # CVPR2018: test after training; not a prefix of --test_subset any more
    assert opt.inference and opt.test_subset == 'val'
    opt = parse_opts(['--inference', '--inference_subset', 'test', '--inference_batch_size', '0'])
    assert opt.inference and opt.test_subset == 'test' and opt.inference_stride == 0
    assert parse_opts(['--no_std_norm']).std == [1.0, 1.0, 1.0]
    assert parse_opts(['--std_norm']).std != [1.0, 1.0, 1.0]
    assert parse_opts(['--plateau_patience', '3']).lr_patience == 3
    assert parse_opts(['--output_topk', '0']).output_topk == 0  # all classes, as the newer reference


@pytest.mark.parametrize('argv', [['--test_sub', 'val'], ['--inference_s', '3'], ['--batch', '4'], ['--lr_pat', '2']])
def test_abbreviations_are_not_taken_for_longer_flags(argv, capsys):
    with pytest.raises(SystemExit):
        parse_opts(argv)
    assert 'unrecognized arguments' in capsys.readouterr().err


def test_distributed_names_the_launcher_command_with_the_users_flags(capsys):
    with pytest.raises(SystemExit):
        parse_opts(['--distributed', '--dist_url', 'tcp://10.0.0.1:23456', '--world_size', '2', '--batch_size', '64'])
    error = capsys.readouterr().err.splitlines()[-1]
    assert 'python -m paddle.distributed.launch --master 10.0.0.1:23456 --nnodes 2 --gpus 0,1,2,3' in error
    assert error.endswith('--batch_size 64') and '--dist_url' not in error.split('run:')[1]


def test_every_command_parser_refuses_abbreviations():
    """Each argparse.ArgumentParser(...) of the repository's commands passes allow_abbrev=False."""
    missing = []
    for folder in ('.', 'scripts', 'utils', 'engine', 'datasets', 'tests', 'tests/commands', 'tests/parity'):
        for name in sorted(os.listdir(os.path.join(REPO, folder))):
            if not name.endswith('.py'):
                continue
            path = os.path.join(REPO, folder, name)
            with open(path) as f:
                tree = ast.parse(f.read())
            for node in ast.walk(tree):
                if (isinstance(node, ast.Call) and getattr(node.func, 'attr', None) == 'ArgumentParser'
                        and not any(k.arg == 'allow_abbrev' for k in node.keywords)):
                    missing.append(f'{folder}/{name}:{node.lineno}')
    assert missing == []


def test_main_py_refuses_distributed_before_creating_anything(tmp_path):
    proc = run('main.py', '--distributed', '--result_path', tmp_path / 'run', '--no_vdl', cwd=tmp_path, timeout=240)
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if 'error:' in line]
    assert len(errors) == 1 and 'paddle.distributed.launch --gpus 0,1,2,3 main.py --result_path' in errors[0]
    assert os.listdir(tmp_path) == []


# ----------------------------------------------------------------------------------------------
# main.py --inference / --test: test.py's evaluation after training
# ----------------------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """A tiny dataset (10-frame videos: 4-frame windows at frames 1, 5, 9) and a 1-epoch main.py --inference run."""
    from main import main as run_main
    root = tmp_path_factory.mktemp('inference')
    make_frame_dataset(root, n_train=2, n_val=2, n_frames=10)
    result = root / 'run'
    metrics = run_main(tiny_run_args(root, result, '--n_epochs', '1', '--no_vdl', '--inference'))
    return {'root': root, 'run': result, 'metrics': metrics,
            'args': lambda result, *extra: tiny_run_args(root, result, *extra)}


def read_json(path):
    with open(path) as f:
        return json.load(f)


def flat_predictions(path):
    """{(video, rank): (label, score)} of a val.json, for a comparison with a float tolerance."""
    return {(video, rank): (e['label'], e['score'])
            for video, entries in read_json(path)['results'].items() for rank, e in enumerate(entries)}


def assert_same_predictions(path, other):
    a, b = flat_predictions(path), flat_predictions(other)
    assert a.keys() == b.keys() and all(a[k][0] == b[k][0] for k in a)
    assert [a[k][1] for k in sorted(a)] == pytest.approx([b[k][1] for k in sorted(a)], abs=1e-5)


def test_main_inference_writes_what_test_py_writes_for_the_final_weights(trained, tmp_path):
    run, inference = trained['run'], trained['metrics']['inference']
    tested = run_test_py(trained['args'](tmp_path / 'test', '--resume_path', str(run / 'last.pdparams')))
    assert read_json(run / 'val.json') == read_json(tmp_path / 'test' / 'val.json')
    assert inference['video_top1'] == tested['video_top1'] and inference['n_clips'] == tested['n_clips'] == 18
    assert sorted(read_json(run / 'val.json')['results']) == sorted(
        v for v, e in read_json(trained['root'] / 'ucf101_01.json')['database'].items() if e['subset'] == 'validation')
    assert (run / 'val_metrics.json').is_file() and (run / 'per_class.csv').is_file()


def test_cvpr2018_test_without_training_evaluates_the_checkpoint_only(trained, tmp_path):
    from main import main as run_main
    out = tmp_path / 'only_test'
    metrics = run_main(trained['args'](out, '--no_train', '--no_val', '--test', '--batch_size', '1',
                                       '--resume_path', str(trained['run'] / 'last.pdparams')))
    assert_same_predictions(out / 'val.json', trained['run'] / 'val.json')  # batches of 1: float rounding differs
    assert metrics['inference']['video_top1'] == trained['metrics']['inference']['video_top1']
    assert not (out / 'opts.json').exists()  # no training machinery: test.py's outputs only


def test_inference_no_average_keeps_each_window_and_averages_to_val_json(trained, tmp_path):
    out = tmp_path / 'windows'
    run_test_py(trained['args'](out, '--resume_path', str(trained['run'] / 'last.pdparams'), '--inference_no_average',
                                '--output_topk', '0', '--inference_batch_size', '2'))
    windows, averaged = read_json(out / 'val.json')['results'], read_json(trained['run'] / 'val.json')['results']
    assert set(windows) == set(averaged)
    for video, entries in windows.items():
        assert [e['segment'] for e in entries] == [[1, 5], [5, 9], [9, 11]]  # the last window loop-padded
        assert all(len(e['result']) == 3 for e in entries)  # --output_topk 0: every class
        mean = {label: np.mean([next(r['score'] for r in e['result'] if r['label'] == label) for e in entries])
                for label in ('RedThings', 'GreenThings', 'BlueThings')}
        assert {r['label']: r['score'] for r in averaged[video]} == pytest.approx(mean, abs=1e-6)


def test_inference_nocrop_feeds_whole_frames_one_video_per_batch(trained, tmp_path, capsys):
    from engine.evaluation import VideoBatches

    class Clips:
        n_clips_per_video = [3, 1, 2]
    assert list(VideoBatches(Clips, 2)) == [[0, 1], [2], [3], [4, 5]]
    out = tmp_path / 'nocrop'
    metrics = run_test_py(trained['args'](out, '--resume_path', str(trained['run'] / 'last.pdparams'),
                                          '--inference_crop', 'nocrop', '--sample_size', '16'))
    assert 'no crop' in capsys.readouterr().out and metrics['inference_crop'] == 'nocrop'
    assert metrics['n_clips'] == 18 and len(read_json(out / 'val.json')['results']) == 6
    # 40x32 frames at short side 16 are 20x16 clips: other inputs than the 16x16 centre crop, other scores
    centre = run_test_py(trained['args'](tmp_path / 'centre', '--resume_path', str(trained['run'] / 'last.pdparams'),
                                         '--sample_size', '16'))
    assert read_json(out / 'val.json') != read_json(tmp_path / 'centre' / 'val.json')
    assert centre['n_clips'] == 18


def test_inference_without_a_checkpoint_fails_before_writing(trained, tmp_path):
    proc = run('main.py', *trained['args'](tmp_path / 'r', '--no_train', '--inference', '--no_vdl'), cwd=tmp_path,
               timeout=240)
    assert proc.returncode == 1 and proc.stderr.strip().splitlines()[-1].startswith('error: no checkpoint')
    assert os.listdir(tmp_path) == []


# ----------------------------------------------------------------------------------------------
# Recipes for big GPUs: --accumulate_steps, --batchnorm_sync
# ----------------------------------------------------------------------------------------------

class ListLoader:
    """Stands in for training's DataLoader: given (clips, targets) batches as SafeClips items."""

    def __init__(self, batches):
        import paddle
        self.batches = [(paddle.to_tensor(c), paddle.to_tensor(t), paddle.arange(len(t)), paddle.ones([len(t)]),
                         paddle.zeros([len(t), 1]))
                        for c, t in batches]
        self.dataset = self

    @staticmethod
    def first_error(*_):
        return None

    def __iter__(self):
        return iter(self.batches)

    def __len__(self):
        return len(self.batches)


def train_epoch_with(batch_size, accumulate_steps, clips, targets):
    """Parameters and epoch metrics of one epoch of a BatchNorm-free net over (clips, targets) in order."""
    import paddle
    import datasets
    from engine.optim import PyTorchSGD
    from engine.steps import DynamicTrainStep
    from engine.training import train_one_epoch
    opt = parse_opts(['--batch_size', str(batch_size * accumulate_steps), '--accumulate_steps', str(accumulate_steps),
                      '--device', 'cpu', '--no_tqdm'])
    paddle.seed(0)
    net = paddle.nn.Sequential(paddle.nn.Conv3D(3, 4, 3), paddle.nn.ReLU(), paddle.nn.AdaptiveAvgPool3D(1),
                               paddle.nn.Flatten(), paddle.nn.Linear(4, 3))
    optimizer = PyTorchSGD(net.parameters(), 0.5, opt.momentum, opt.dampening, 0.01, False)
    batches = [(clips[b:b + batch_size], targets[b:b + batch_size]) for b in range(0, len(targets), batch_size)]
    metrics = train_one_epoch(DynamicTrainStep(net), ListLoader(batches), optimizer, datasets.input_normalizer(opt), 1,
                              opt.accumulate_steps, show_progress=False)
    return [p.numpy() for p in net.parameters()], metrics, optimizer.n_steps


def test_accumulated_batches_update_as_one_big_batch():
    rng = np.random.default_rng(0)
    clips = rng.normal(size=(10, 3, 4, 6, 6)).astype('float32')
    targets = rng.integers(0, 3, size=10).astype('int64')
    big, big_metrics, big_steps = train_epoch_with(8, 1, clips, targets)  # batches of 8 and 2
    small, small_metrics, small_steps = train_epoch_with(2, 4, clips, targets)  # 4 passes of 2, then 1 of 2
    assert big_steps == small_steps == 2
    assert small_metrics['loss'] == pytest.approx(big_metrics['loss'], rel=1e-6)
    for a, b in zip(big, small):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    unaccumulated, _, steps = train_epoch_with(2, 1, clips, targets)  # 5 updates: another trajectory
    assert steps == 5 and not np.allclose(unaccumulated[-1], big[-1], atol=1e-4)


def test_accumulate_steps_must_divide_the_batch(capsys):
    with pytest.raises(SystemExit):
        parse_opts(['--batch_size', '10', '--accumulate_steps', '4'])
    assert 'not a multiple of --accumulate_steps' in capsys.readouterr().err


def test_batchnorm_sync_on_the_cpu_is_one_error_before_anything_is_written(trained, tmp_path):
    from main import main as run_main
    with pytest.raises(SystemExit) as exit_info:
        run_main(trained['args'](tmp_path / 'run', '--batchnorm_sync', '--no_vdl'))
    error = exit_info.value.code  # run_command's SystemExit: the one line, printed with exit status 1
    assert error.startswith('error: --batchnorm_sync') and '\n' not in error and 'paddle.distributed.launch' in error
    assert os.listdir(tmp_path) == []


def test_sync_batchnorm_checkpoints_load_into_the_plain_model():
    import paddle
    import models
    opt = parse_opts(['--model_depth', '10', '--resnet_widen_factor', '0.125', '--n_classes', '3'])
    plain = models.generate_model(opt)
    synced = paddle.nn.SyncBatchNorm.convert_sync_batchnorm(models.generate_model(opt))
    assert type(synced.bn1).__name__ == 'SyncBatchNorm'
    assert {k: v.shape for k, v in synced.state_dict().items()} == {k: v.shape for k, v in plain.state_dict().items()}


def test_three_crop_averages_the_three_single_crops_and_reports_the_centre_one(trained, tmp_path, capsys):
    checkpoint = str(trained['run'] / 'last.pdparams')
    single = {}
    for position in ('tl', 'c', 'br'):
        single[position] = run_test_py(trained['args'](tmp_path / position, '--resume_path', checkpoint,
                                                       '--crop_position_in_test', position, '--output_topk', '0'))
    three = run_test_py(trained['args'](tmp_path / 'three', '--resume_path', checkpoint,
                                        '--inference_crop', 'three_crop', '--output_topk', '0'))
    assert 'crops tl/c/br averaged' in capsys.readouterr().out
    assert three['n_clips'] == 3 * 18 and three['video_top1_centre_crop'] == single['c']['video_top1']
    crops = [read_json(tmp_path / p / 'val.json')['results'] for p in ('tl', 'c', 'br')]
    assert crops[0] != crops[1]  # the crops see different pixels
    for video, entries in read_json(tmp_path / 'three' / 'val.json')['results'].items():
        mean = {e['label']: np.mean([next(r['score'] for r in c[video] if r['label'] == e['label']) for c in crops])
                for e in entries}
        assert {e['label']: e['score'] for e in entries} == pytest.approx(mean, abs=1e-6)
