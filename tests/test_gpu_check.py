"""benchmarks/gpu_check.py, the GPU acceptance run, on this CPU machine: every check that can run here passes, every
GPU-only check is reported as skipped with its reason, and the report has the format docs/GPU.md documents."""
import json
import os
import subprocess
import sys

import pytest

from engine import compat

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GPU_ONLY = {'amp_float16_O1', 'amp_float16_O2', 'amp_bfloat16_O1', 'amp_bfloat16_O2', 'gpu_step_vs_loader',
            'test_py_gpu_equals_cpu', 'export_gpu_predictor', 'launch_2gpu', 'launch_2gpu_batchnorm_sync'}
EVERYWHERE = {'train_float32', 'ndhwc_equals_ncdhw', 'loader_workers', 'export_cpu_predictor'}


@pytest.fixture(scope='module')
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp('gpu_check') / 'report.json'
    proc = subprocess.run([sys.executable, '-m', 'benchmarks.gpu_check', '--cpu', '--json', str(out)], cwd=REPO,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(out) as f:
        return json.load(f), proc.stdout


def test_every_check_runs_or_says_why_not(report):
    data, stdout = report
    checks = {c['name']: c for c in data['checks']}
    assert set(checks) == GPU_ONLY | EVERYWHERE
    for name in GPU_ONLY:
        assert checks[name]['status'] == 'skipped' and checks[name]['detail'].startswith('skipped: no GPU'), checks[name]
    for name in EVERYWHERE - {'export_cpu_predictor'}:
        assert checks[name]['status'] == 'pass', checks[name]
    export = checks['export_cpu_predictor']
    if compat.static_graph_support()[0]:
        assert export['status'] == 'pass', export
    else:  # paddle.jit.save cannot trace the models on this Paddle (2.6 before models/_common.py's fix)
        assert export['status'] == 'skipped' and 'cannot run on Paddle' in export['detail'], export
    for name in checks:  # one line per check: status, name, seconds, detail
        assert any(line.split()[:2] == [checks[name]['status'].upper(), name] for line in stdout.splitlines())


def test_the_report_has_the_documented_format(report):
    data, _ = report
    assert data['format'] == 'gpu_check/1' and data['device'] == 'cpu' and data['ok'] is True
    assert {'paddle', 'python', 'cuda', 'gpus', 'onednn_flag', 'static_eval',
            'static_training'} <= set(data['environment'])
    assert data['summary']['fail'] == 0
    assert sum(data['summary'].values()) == len(data['checks'])
    for check in data['checks']:
        assert set(check) == {'name', 'status', 'detail', 'seconds', 'metrics'}
        assert check['status'] in ('pass', 'fail', 'skipped')
    rates = next(c for c in data['checks'] if c['name'] == 'loader_workers')['metrics']['clips_per_s_by_workers']
    assert {'0', '1', '2'} <= set(rates) and all(r > 0 for r in rates.values())
    with open(os.path.join(REPO, 'docs', 'GPU.md')) as f:
        doc = f.read()
    for check in data['checks']:
        assert f'`{check["name"]}`' in doc, check['name']


def test_a_failing_check_fails_the_run(tmp_path, monkeypatch):
    from benchmarks import gpu_check

    def broken(ctx):
        raise gpu_check.CheckFailed('wrong numbers')

    monkeypatch.setattr(gpu_check, 'CHECKS', [('train_float32', broken)])
    out = tmp_path / 'r.json'
    assert gpu_check.main(['--cpu', '--json', str(out)]) == 1
    data = json.loads(out.read_text())
    assert data['ok'] is False and data['checks'][0]['status'] == 'fail'
    assert data['checks'][0]['detail'] == 'wrong numbers'
