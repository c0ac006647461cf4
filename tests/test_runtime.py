"""engine/runtime.py: CPU settings and the static oneDNN prediction graph (correctness only, no timing)."""
import numpy as np
import paddle
import pytest

import models
from engine import runtime
from tests.fixtures import run


def tiny_model(**extra):
    paddle.seed(0)
    opts = dict(model='resnet', model_depth=10, n_classes=5, resnet_widen_factor=0.125, **extra)
    model = models.generate_model(opts)
    rng = np.random.RandomState(1)
    # non-trivial running statistics, so eval mode differs from train mode
    for name, value in model.state_dict().items():
        if name.endswith('_mean') or name.endswith('_variance'):
            low = 0.5 if name.endswith('_variance') else -0.2
            value.set_value((low + 0.4 * rng.rand(*value.shape)).astype('float32'))
    return model


def clips(n=3, shape=(3, 4, 32, 32)):
    return paddle.to_tensor(np.random.RandomState(2).randn(n, *shape).astype('float32'))


def test_use_static_graph_resolves_auto():
    assert runtime.use_static_graph('auto', 'cpu'), runtime.compat.static_graph_support()  # why the probe failed
    assert not runtime.use_static_graph('auto', 'gpu')
    assert not runtime.use_static_graph('auto', 'cpu', world_size=2)
    assert not runtime.use_static_graph('auto', 'cpu', amp=True)
    assert runtime.use_static_graph('static', 'gpu')
    assert not runtime.use_static_graph('dygraph', 'cpu')
    assert not runtime.use_static_graph('auto', 'cpu', data_format='NDHWC')
    with pytest.raises(ValueError, match='--eval_graph'):
        runtime.use_static_graph('jit', 'cpu')
    with pytest.raises(ValueError, match='NCDHW'):
        runtime.use_static_graph('static', 'cpu', data_format='NDHWC')


def test_configure_cpu_sets_threads_and_mkl_path(monkeypatch):
    monkeypatch.delenv('MKL_DEBUG_CPU_TYPE', raising=False)
    assert runtime.configure_cpu(1) == 1
    assert runtime.configure_cpu(0) == runtime.cpu_cores()
    import os
    assert os.environ['MKL_DEBUG_CPU_TYPE'] == '5'
    monkeypatch.setenv('MKL_DEBUG_CPU_TYPE', '2')  # a user's own setting wins
    runtime.configure_cpu(1)
    assert os.environ['MKL_DEBUG_CPU_TYPE'] == '2'


@pytest.mark.parametrize('extra', [dict(resnet_shortcut='B'), dict(resnet_shortcut='A'),
                                   dict(se=True), dict(kernel_type='(2+1)d')], ids=['B', 'A', 'se', '2p1d'])
def test_static_predict_equals_dygraph_eval(extra):
    model = tiny_model(**extra)
    x = clips()
    model.eval()
    with paddle.no_grad():
        expected = model(x).numpy()
        predict = runtime.compile_predict(model, x.shape[1:], static=True)
        got = predict(x).numpy()
        partial = predict(x[:2]).numpy()  # another batch size, same graph
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(partial, expected[:2], atol=1e-4, rtol=1e-4)


def test_static_predict_follows_training_updates():
    """The static graph reads the dygraph parameters at each call: no stale copy after training."""
    model = tiny_model()
    x = clips()
    predict = runtime.compile_predict(model, x.shape[1:], static=True)
    with paddle.no_grad():
        before = predict(x).numpy()
    optimizer = paddle.optimizer.SGD(0.1, parameters=model.parameters())
    model.train()
    for _ in range(2):
        loss = paddle.nn.functional.cross_entropy(model(x), paddle.to_tensor([0, 1, 2]))
        loss.backward()
        optimizer.step()
        optimizer.clear_grad()
    predict.eval()
    assert not model.training
    with paddle.no_grad():
        expected = model(x).numpy()
        after = predict(x).numpy()
    assert np.abs(after - before).max() > 1e-3
    np.testing.assert_allclose(after, expected, atol=1e-4, rtol=1e-4)


def test_dygraph_predict_is_the_model():
    model = tiny_model()
    x = clips()
    model.eval()
    with paddle.no_grad():
        np.testing.assert_array_equal(runtime.compile_predict(model, x.shape[1:], static=False)(x).numpy(),
                                      model(x).numpy())


def test_benchmark_runs_on_a_tiny_model(tmp_path):
    out = tmp_path / 'bench.json'
    result = run('benchmarks/benchmark.py', '--sections', 'model', 'flops', '--model_depth', '10',
                 '--resnet_widen_factor', '0.125', '--sample_size', '32', '--sample_duration', '4', '--repeat', '1',
                 '--json', out)
    assert result.returncode == 0, result.stderr[-2000:]
    import json
    report = json.loads(out.read_text())
    rows = {(r['framework'], r['mode'], r['graph']) for r in report['model']}
    assert ('paddle', 'train', 'dygraph') in rows and ('paddle', 'train', 'static oneDNN') in rows
    assert ('paddle', 'inference', 'static oneDNN') in rows
    assert ('paddle untuned', 'train', 'dygraph') in rows
    assert all(r['clips_per_s'] > 0 for r in report['model'])
    assert report['flops']['params_m'] > 0 and report['flops']['gmacs_per_clip'] > 0
    assert '| paddle' in result.stdout


def test_static_training_probe_equals_the_dynamic_step(tmp_path):
    """benchmarks/bench_static_training.py's oneDNN training step (its workarounds for Paddle 3.3.1's batch-norm
    statistics and in-place loss) trains a narrow model as the dynamic graph does: same losses, weights and
    running statistics after three steps (a static step that left the running statistics alone, or updated
    them Paddle's way, would differ by percents)."""
    out = tmp_path / 'static.json'
    proc = run('benchmarks/bench_static_training.py', '--model_depth', '10', '--resnet_widen_factor', '0.125',
               '--batch_size', '4', '--sample_size', '16', '--sample_duration', '4', '--n_classes', '3', '--steps', '2',
               '--threads', '1', '--json', out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'ReduceMeanCheckIfOneDNNSupport' not in proc.stdout
    import json
    result = json.loads(out.read_text())
    dynamic, static = result['losses']['dynamic graph'], result['losses']['static oneDNN graph']
    assert len(dynamic) == len(static) == 3
    np.testing.assert_allclose(static, dynamic, rtol=1e-4)
    assert result['parameter_difference'] < 1e-3
    assert result['running_statistics_difference'] < 1e-3

