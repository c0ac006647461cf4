"""Installing the project never replaces an installed Paddle (requirements.txt, pyproject.toml, setup_env.sh).

A throw-away Python environment stands for AI Studio or a GPU server: a venv holding a fake
``paddlepaddle-gpu`` distribution (a ``paddle`` package that says it is the GPU build) and, through a site
directory, this environment's other packages (so nothing is downloaded: pip runs with --no-index, and any
attempt to fetch a Paddle fails the test). The README's install steps run in it, and setup_env.sh is sourced
as demo.sh and test.sh source it.
"""
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAKE_INIT = "__version__ = '2.6.2'\nFAKE_GPU_BUILD = True\n\ndef is_compiled_with_cuda():\n    return True\n"
NOT_COPIED = ('.git', '.venv', 'data', 'results', '__pycache__', '.pytest_cache')


def fake_gpu_wheel(folder):
    """paddlepaddle_gpu-2.6.2-py3-none-any.whl with only paddle/__init__.py."""
    path = os.path.join(folder, 'paddlepaddle_gpu-2.6.2-py3-none-any.whl')
    info = 'paddlepaddle_gpu-2.6.2.dist-info'
    with zipfile.ZipFile(path, 'w') as wheel:
        wheel.writestr('paddle/__init__.py', FAKE_INIT)
        wheel.writestr(f'{info}/METADATA', 'Metadata-Version: 2.1\nName: paddlepaddle-gpu\nVersion: 2.6.2\n')
        wheel.writestr(f'{info}/WHEEL', 'Wheel-Version: 1.0\nGenerator: test_install\nRoot-Is-Purelib: true\n'
                                        'Tag: py3-none-any\n')
        wheel.writestr(f'{info}/RECORD', f'paddle/__init__.py,,\n{info}/METADATA,,\n{info}/WHEEL,,\n{info}/RECORD,,\n')
    return path


def overlay_of_this_environment(folder):
    """A site directory linking every package of this environment except Paddle and this project."""
    os.makedirs(folder)
    site = sysconfig.get_paths()['purelib']
    for name in os.listdir(site):
        lowered = name.lower()
        if lowered.startswith(('paddle', 'resnets3d', '__editable__', '_resnets3d')) or lowered.endswith('.pth'):
            continue
        os.symlink(os.path.join(site, name), os.path.join(folder, name))
    return folder


@pytest.fixture(scope='module')
def gpu_machine(tmp_path_factory):
    """(python, env, repo copy): a Python whose Paddle is the fake paddlepaddle-gpu, and a clone of the repo."""
    tmp = tmp_path_factory.mktemp('install')
    base = tmp / 'system-python'
    subprocess.run([getattr(sys, '_base_executable', sys.executable), '-m', 'venv', str(base)], check=True,
                   timeout=300)
    python = str(base / 'bin' / 'python')
    env = dict(os.environ, PIP_NO_INDEX='1', PIP_DISABLE_PIP_VERSION_CHECK='1', PIP_NO_BUILD_ISOLATION='0',
               PYTHONNOUSERSITE='1')
    for name in ('VIRTUAL_ENV', 'VENV_DIR', 'PYTHONPATH', 'PADDLE_CPU_SPEC'):
        env.pop(name, None)
    subprocess.run([python, '-m', 'pip', 'install', '-q', fake_gpu_wheel(str(tmp))], check=True, env=env,
                   timeout=300)
    # the venv's own setuptools (65 on Python 3.11) builds no editable wheel without `wheel`: use this one's
    subprocess.run([python, '-m', 'pip', 'uninstall', '-q', '-y', 'setuptools'], check=True, env=env, timeout=300)
    purelib = subprocess.run([python, '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
                             check=True, capture_output=True, text=True).stdout.strip()
    overlay = overlay_of_this_environment(str(tmp / 'overlay'))
    with open(os.path.join(purelib, 'zz_overlay.pth'), 'w') as f:
        f.write(f'import site; site.addsitedir({overlay!r})\n')
    repo = tmp / 'clone'
    shutil.copytree(REPO, repo, symlinks=True,
                    ignore=lambda d, names: [n for n in names if n in NOT_COPIED or n.startswith('.venv')
                                             or n.endswith('.egg-info')])
    return python, env, repo


def installed(python, env):
    listing = subprocess.run([python, '-m', 'pip', 'list', '--format', 'json'], check=True, env=env,
                             capture_output=True, text=True).stdout
    return {row['name'].lower(): row['version'] for row in json.loads(listing)}


def assert_the_gpu_paddle_is_untouched(python, env):
    packages = installed(python, env)
    assert packages.get('paddlepaddle-gpu') == '2.6.2', packages
    assert 'paddlepaddle' not in packages, packages
    probe = subprocess.run([python, '-c', 'import paddle; print(paddle.__file__, paddle.FAKE_GPU_BUILD)'],
                           env=env, capture_output=True, text=True, timeout=60)
    assert probe.returncode == 0 and probe.stdout.strip().endswith('True'), probe.stderr[-2000:]


def test_requirements_and_the_editable_install_leave_an_installed_gpu_paddle_in_place(gpu_machine):
    python, env, repo = gpu_machine
    for command in (['-r', 'requirements.txt'], ['-e', '.']):
        proc = subprocess.run([python, '-m', 'pip', 'install', '-q'] + command, cwd=repo, env=env,
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, (command, proc.stdout[-2000:], proc.stderr[-3000:])
        assert_the_gpu_paddle_is_untouched(python, env)


def test_setup_env_uses_the_interpreters_paddle_without_a_venv(gpu_machine):
    python, env, repo = gpu_machine
    proc = subprocess.run(['bash', '-c', 'source scripts/setup_env.sh && echo "VENV_PYTHON=$VENV_PYTHON"'],
                          cwd=repo, env=dict(env, PYTHON=python), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert f'VENV_PYTHON={python}' in proc.stdout, proc.stdout
    assert 'Paddle 2.6.2 (GPU build)' in proc.stdout, proc.stdout
    assert not (repo / '.venv').exists()
    assert_the_gpu_paddle_is_untouched(python, env)


def test_pyproject_and_requirements_do_not_name_paddle_outside_the_cpu_extra():
    with open(os.path.join(REPO, 'requirements.txt')) as f:
        lines = [line.split('#')[0].strip() for line in f]
    assert not [line for line in lines if line.lower().startswith('paddle')]
    with open(os.path.join(REPO, 'pyproject.toml')) as f:
        text = f.read()
    dependencies = text.split('dependencies = [', 1)[1].split(']', 1)[0]
    assert 'paddle' not in dependencies.lower()
