"""notebooks/aistudio_demo.ipynb, executed top to bottom in a real Jupyter kernel (nbclient + ipykernel) on tiny
settings: the demo dataset, training, a resumed session, in-kernel evaluation, the confusion matrix and the
per-class table, the VisualDL curve and server."""
import os
import re
import socket

import pytest

from tests.fixtures import PADDLE_NOISE, REPO

nbformat = pytest.importorskip('nbformat')
nbclient = pytest.importorskip('nbclient')
pytest.importorskip('ipykernel')

NOTEBOOK = os.path.join(REPO, 'notebooks', 'aistudio_demo.ipynb')

WAIT_FOR_VISUALDL = """
import json, time, urllib.parse, urllib.request
api = f'http://localhost:{VISUALDL_PORT}/app/api/'
for _ in range(240):
    try:
        with urllib.request.urlopen(api + 'runs', timeout=2) as response:
            runs = json.load(response)['data']
        break
    except OSError:
        time.sleep(0.5)
run = next(r for r in runs if not r.endswith('_val'))  # the training run (test.py's folder is <run>_val)
query = urllib.parse.urlencode({'run': run, 'tag': 'train/loss'})
with urllib.request.urlopen(api + 'scalar/list?' + query, timeout=10) as response:
    print('VisualDL serves train/loss at epochs', [step for _, step, _ in json.load(response)['data']])
visualdl.terminate()
visualdl.wait(timeout=30)
"""


def free_port():
    with socket.socket() as s:
        s.bind(('localhost', 0))
        return s.getsockname()[1]


def text_of(cell):
    return ''.join(out.get('text', '') + ''.join(str(v) for k, v in out.get('data', {}).items() if k == 'text/plain')
                   for out in cell.outputs)


def test_notebook_in_the_repository_has_no_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == 'code']
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code)
    assert sum('parameters' in cell.metadata.get('tags', []) for cell in code) == 1


def test_notebook_runs_top_to_bottom_in_a_kernel(tmp_path):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    parameters = next(cell for cell in notebook.cells if 'parameters' in cell.metadata.get('tags', []))
    port = free_port()
    parameters.source += f"""
# tests/test_notebook.py: tiny settings
REPO, GIT_URL, INSTALL = {REPO!r}, None, False
DATA, RESULTS = {str(tmp_path / 'demo')!r}, {str(tmp_path / 'results' / 'notebook')!r}
DEMO_DATASET = '--n_groups 3 --n_clips 1 --n_frames 12 --frames_jitter 2 --seed 3'
CLIP = '--sample_size 32 --sample_duration 4'
MODEL = '--model resnet --model_depth 10 --resnet_widen_factor 0.125 --n_classes 6'
RECIPE = ('--batch_size 6 --learning_rate 0.05 --dampening 0 --lr_scheduler multistep '
          '--multistep_milestones 100 --checkpoint 1 --device cpu')
EPOCHS, MORE_EPOCHS, N_THREADS, VISUALDL_PORT = 1, 1, 0, {port}
"""
    notebook.cells.append(nbformat.v4.new_code_cell(WAIT_FOR_VISUALDL))
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name='python3',
                                     resources={'metadata': {'path': str(tmp_path)}})
    client.execute()  # raises CellExecutionError, with the cell and its traceback, if a cell fails

    code = [cell for cell in notebook.cells if cell.cell_type == 'code']
    outputs = [text_of(cell) for cell in code]
    everything = '\n'.join(outputs)
    assert 'continuing at epoch 2' in everything and 'epoch 2/2' in everything  # a real resumed session
    assert "'video_top1'" in everything
    assert any('image/png' in out.get('data', {}) for cell in code for out in cell.outputs)  # confusion.png
    assert any('text/html' in out.get('data', {}) and 'class_name' in out['data']['text/html']
               for cell in code for out in cell.outputs)  # the per-class table
    assert 'train/loss by epoch: {1: ' in everything and ', 2: ' in everything
    assert 'VisualDL serves train/loss at epochs [1, 2]' in everything  # what its web page plots
    assert [noise for noise in PADDLE_NOISE if noise in everything] == []
    assert re.search('\r(?!\n)', everything) is None  # no progress-bar fragments (the pty ends lines \r\n)
    assert os.path.isfile(tmp_path / 'results' / 'notebook_val' / 'confusion.png')


def test_notebook_cites_readme_sections_that_exist():
    """The notebook sends UCF-101 users to README sections by name: those headings must exist."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    intro = notebook.cells[0].source
    cited = re.findall(r"README's \*([^*]+)\* and \*([^*]+)\*", intro)
    assert cited
    with open(os.path.join(REPO, 'README.md'), encoding='utf-8') as f:
        headings = {line[3:].strip() for line in f if line.startswith('## ')}
    for name in cited[0]:
        assert any(h.startswith(name) for h in headings), f'README has no section {name!r}: {sorted(headings)}'
