"""engine/static_training.py: training steps in a static oneDNN graph (--train_graph), correctness only."""
import numpy as np
import pytest

from benchmarks import bench_static_training
from core.errors import BadInput
from tests.fixtures import make_frame_dataset, read_tsv, run, tiny_run_args, train_graph


@pytest.mark.parametrize('case', [('resnet', 10, kernel, False) for kernel in ('3d', '(2+1)d', 'p3d-b', 'fast', 'split-fast')]
                         + [('resnet', 10, '3d', True), ('preresnet', 18, '3d', False)],
                         ids=lambda case: '-'.join(map(str, case)))
def test_one_static_step_is_as_close_to_float64_as_the_dynamic_step(case):
    """One SGD step (momentum, weight decay) from the same weights on the same batch: every parameter's and
    running statistic's update is as close to the float64 dynamic step's as the float32 dynamic step's is (a
    static step that left the running statistics alone or updated them Paddle's way is off by 10-100 %;
    `benchmarks/bench_static_training.py --sweep` runs every family x kernel x SE)."""
    args = bench_static_training.main_parser().parse_args(
        ['--resnet_widen_factor', '0.25', '--batch_size', '4', '--sample_size', '32', '--sample_duration', '4',
         '--learning_rate', '0.01'])
    errors = bench_static_training.one_step_errors(case, args)
    assert errors['loss_static'] < 1e-3 and errors['loss_dynamic'] < 1e-3
    assert errors['overall_static'] <= 10 * max(errors['overall_dynamic'], 1e-5), errors
    assert errors['static'] <= 10 * max(errors['dynamic'], 1e-5), errors



def test_a_one_clip_batch_steps_like_the_dynamic_graph(data_root, tmp_path):
    """Paddle 3.3.1's oneDNN backward aborts the process on a one-clip batch (a remainder batch, or
    --accumulate_steps splitting a batch of 2): such a batch goes through the same layer in the dynamic graph."""
    args = bench_static_training.main_parser().parse_args(
        ['--resnet_widen_factor', '0.25', '--batch_size', '1', '--sample_size', '32', '--sample_duration', '4',
         '--learning_rate', '0.01'])
    errors = bench_static_training.one_step_errors(('resnet', 10, '3d', False), args)
    assert errors['overall_static'] <= 10 * max(errors['overall_dynamic'], 1e-5), errors
    proc = run('main.py', *tiny_run_args(data_root, tmp_path / 'run', '--n_epochs', '1', '--batch_size', '2',
                                         '--accumulate_steps', '2', '--train_graph', 'static'))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(read_tsv(tmp_path / 'run' / 'train_batch.log')) == 12  # 12 clips, one per step


def test_auto_and_static_resolve_where_the_graph_can_run():
    from engine import compat
    assert train_graph('auto', 'cpu', 'resnet'), compat.static_training_support()  # why the probe failed
    assert train_graph('static', 'cpu', 'preresnet')
    assert not train_graph('dygraph', 'cpu', 'resnet')
    for device, family, extra in [('gpu', 'resnet', {}), ('cpu', 'densenet', {}), ('cpu', 'resnet', dict(world_size=2)),
                                  ('cpu', 'resnet', dict(amp=True)), ('cpu', 'resnet', dict(data_format='NDHWC')),
                                  ('cpu', 'resnet', dict(batchnorm_sync=True))]:
        assert not train_graph('auto', device, family, **extra), (device, family, extra)
        with pytest.raises(BadInput, match='--train_graph dygraph'):
            train_graph('static', device, family, **extra)


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('static_training_data')
    make_frame_dataset(str(root))
    return root


def test_main_trains_in_the_static_graph_as_in_the_dynamic_one(data_root, tmp_path):
    """The same run both ways: the first batch's loss agrees to float rounding (later ones drift apart at
    these tiny shapes, as two dynamic runs 1e-6 apart do), checkpoints resume, and the log names the graph."""
    runs = {}
    for graph in ('dygraph', 'static'):
        result = tmp_path / graph
        proc = run('main.py', *tiny_run_args(data_root, result, '--n_epochs', '2', '--learning_rate', '0.01',
                                             '--train_graph', graph))
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert ('training in a static oneDNN graph' in proc.stdout) == (graph == 'static')
        assert 'ReduceMeanCheckIfOneDNNSupport' not in proc.stdout
        runs[graph] = read_tsv(result / 'train_batch.log')
    np.testing.assert_allclose(float(runs['static'][0]['loss']), float(runs['dygraph'][0]['loss']), rtol=1e-5)
    assert len(runs['static']) == len(runs['dygraph'])
    proc = run('main.py', *tiny_run_args(data_root, tmp_path / 'static', '--n_epochs', '3', '--learning_rate', '0.01',
                                   '--train_graph', 'static', '--resume_path', str(tmp_path / 'static' / 'last.pdparams')))
    assert proc.returncode == 0 and 'continuing at epoch 3' in proc.stdout, proc.stderr[-2000:]


def test_static_training_of_densenet_is_refused_in_one_line(data_root, tmp_path):
    proc = run('main.py', *tiny_run_args(data_root, tmp_path / 'dense', '--train_graph', 'static'),
               '--model', 'densenet', '--model_depth', '121')
    assert proc.returncode != 0
    assert 'cannot train --model densenet' in proc.stderr and '--train_graph dygraph' in proc.stderr
    assert 'Traceback' not in proc.stderr and not (tmp_path / 'dense').exists()
