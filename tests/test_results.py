"""docs/results.json is the one place of the docs' measured numbers (benchmarks/results.py):

* every marked table of README.md and docs/*.md is what `python -m benchmarks.results render` makes from the file,
  and rendering again changes nothing;
* every record names its command, commit, date and machine;
* the recorders turn the commands' own outputs (scripts/demo.sh's run folders, benchmark.py --json, the parity
  harness's summary.json) into records;
* the docs hold no dated narrative and no path of a particular machine, and the README stays short.
"""
import json
import os
import re
import subprocess
import sys

import pytest

from benchmarks import results as R

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read(path):
    with open(path, encoding='utf-8') as f:
        return f.read()


def doc_files():
    return R.pages() + [os.path.join(REPO, 'notebooks', 'aistudio_demo.ipynb'), R.RESULTS]


def test_tables_agree_with_the_results_file():
    proc = subprocess.run([sys.executable, '-m', 'benchmarks.results', 'render', '--check'], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_rendering_again_changes_nothing():
    results = R.load()
    for page in R.pages():
        text = read(page)
        missing = []
        assert R.render_text(text, results, missing) == text, page
        assert missing == [], (page, missing)


def test_check_catches_a_hand_edited_table(tmp_path):
    results = R.load()
    text = read(os.path.join(REPO, 'docs', 'PARITY.md'))
    edited = text.replace('| 1 | 0.3704 |', '| 1 | 0.3705 |', 1)
    assert edited != text
    assert R.render_text(edited, results) == text  # render puts the file's number back


def test_every_record_names_command_commit_date_and_machine():
    records = R.load()['records']
    assert {'demo', 'benchmark', 'parity'} <= set(records)
    for name, record in records.items():
        assert record['command'] and record['commit'] and record['tables'], name
        assert re.fullmatch(r'[0-9a-f]{7,40}', record['commit']), name
        assert re.fullmatch(r'\d{4}-\d{2}-\d{2}', record['date']), name
        machine = record['machine']
        assert machine['cpu'] and machine['cores'] and machine['paddle'] and 'gpu' in machine, name


def test_every_record_is_shown_and_every_marker_has_a_table():
    records = R.load()['records']
    shown = {m.group('name') for page in R.pages() for m in R.MARKER.finditer(read(page))}
    for name, record in records.items():
        for table in record['tables']:
            assert f'{name}/{table}' in shown or name in ('demo', 'benchmark', 'parity'), f'{name}/{table}'
    assert 'summary' in shown


MACHINE_PATH = re.compile(r'(?<![\w.])(/tmp/|/work/|/root/|/Users/|/home/(?!aistudio\b)|/mnt/|/scratch/|[A-Z]:\\\\)')


def test_no_machine_paths_in_docs_notebook_results_or_help_texts():
    sources = doc_files() + [os.path.join(REPO, 'opts.py')]
    for path in sources:
        for number, line in enumerate(read(path).splitlines(), 1):
            assert not MACHINE_PATH.search(line), f'{os.path.relpath(path, REPO)}:{number}: {line.strip()[:160]}'


def test_docs_have_no_dated_narrative():
    """Dates live in results.json's records (shown under each rendered table) and in git log, not in prose."""
    for page in R.pages():
        prose = R.MARKER.sub('', read(page))
        for number, line in enumerate(prose.splitlines(), 1):
            assert not re.search(r'\b20\d\d-\d\d-\d\d\b|\b\d\d:\d\d UTC\b', line), \
                f'{os.path.relpath(page, REPO)}:{number}: {line.strip()[:160]}'


def test_readme_is_short():
    text = read(os.path.join(REPO, 'README.md'))
    english = text.split('## 中文说明')[0]
    assert len(english.splitlines()) <= 210
    assert 'bash scripts/test.sh' in english and 'Supported: Paddle 2.6 to 3.3' in english  # requirements.txt's range


# ---- the recorders, on the commands' own output formats ---------------------------------------------------

def record_args(tmp_path, *argv):
    results = tmp_path / 'results.json'
    assert R.main(['record', *argv, '--results', str(results), '--no_render']) == 0
    return json.loads(results.read_text())['records']


def test_record_demo_reads_the_run_folders(tmp_path):
    runs = []
    for seed, (correct, worst) in enumerate([(95, 0.94), (96, 1.0)], 1):
        run = tmp_path / f'demo_s{seed}'
        (run / 'train').mkdir(parents=True)
        (run / 'val').mkdir()
        (run / 'train' / 'opts.json').write_text(json.dumps({'manual_seed': seed}))
        (run / 'val' / 'val_metrics.json').write_text(json.dumps({'video_top1': correct / 96, 'n_videos': 96}))
        (run / 'val' / 'per_class.csv').write_text(f'class_name,top1\nFlash,{worst}\nStill,1.0\n')
        runs.append(str(run))
    log = tmp_path / 'demo.log'
    log.write_text(f'== 4/5 annotation\n{tmp_path}/demo/ucf101_01.json: 6 classes, 240 training + 96 validation '
                   'videos\ndevice cpu, 2 math threads\nepoch 1/30 | train loss 1.9\nepoch 2/30 | train loss 1.5\n'
                   'epoch 30/30 | train loss 0.19\nvideo top-1 accuracy: 0.989583 (95/96 videos)\n')
    record = record_args(tmp_path, 'demo', *runs, '--log', str(log))['demo']
    seeds = record['tables']['seeds']['rows']
    assert seeds[0][:3] == ['1', '0.990 (95/96)', 'Flash 0.94'] and seeds[1][2] == '– (all 1.00)'
    assert seeds[-1][0] == 'mean ± sd'
    excerpt = record['tables']['excerpt']['text']
    assert excerpt[0] == 'data/demo/ucf101_01.json: 6 classes, 240 training + 96 validation videos'
    assert 'epoch 2/30' not in '\n'.join(excerpt) and excerpt[2:5] == ['epoch 1/30 | train loss 1.9', '...', 'epoch 30/30 | train loss 0.19']
    assert not MACHINE_PATH.search(json.dumps(record['tables']))


def test_record_parity_reads_the_harness_summary(tmp_path):
    summary = {'seeds': [1, 2], 'main_args': [],
               'results': {'torch': {'1': [0.40, 0.90], '2': [0.42, 0.88]},
                           'paddle': {'1': [0.38, 0.93], '2': [0.40, 0.91]}},
               'summary': {'loss_gap_relative': -0.049, 'loss_gap_relative_se': 0.03, 'acc_gap': 0.03,
                           'acc_gap_se': 0.014}}
    path = tmp_path / 'summary.json'
    path.write_text(json.dumps(summary))
    record = record_args(tmp_path, 'parity', str(path), '--commit', 'abcdef1', '--date', '2026-01-02')['parity']
    assert record['commit'] == 'abcdef1' and record['date'] == '2026-01-02'
    assert record['command'] == 'python -m benchmarks.parity.harness --seeds 1 2'
    rows = record['tables']['seeds']['rows']
    assert rows[0] == ['1', '0.4000', '0.900', '0.3800', '0.930'] and rows[-1][0] == 'mean ± sd'
    assert '-4.9%' in record['tables']['seeds']['note']


def test_record_benchmark_reads_the_json_report(tmp_path):
    report = {'environment': {'date': '2026-01-03', 'paddle': '3.3.1', 'python': '3.11.7'},
              'arguments': {'model': 'resnet', 'model_depth': 18, 'resnet_shortcut': 'B', 'sample_duration': 16,
                            'sample_size': 112, 'batch_size': 2, 'infer_batch_size': 1},
              'model': [{'framework': 'paddle', 'mode': 'train', 'graph': 'static oneDNN', 'time_vs_torch': 1.5},
                        {'framework': 'paddle', 'mode': 'train', 'graph': 'dygraph', 'time_vs_torch': 3.0},
                        {'framework': 'paddle', 'mode': 'inference', 'graph': 'static oneDNN', 'time_vs_torch': 0.4},
                        {'framework': 'paddle', 'mode': 'inference', 'graph': 'dygraph', 'time_vs_torch': 1.7}]}
    path = tmp_path / 'bench.json'
    path.write_text(json.dumps(report))
    record = record_args(tmp_path, 'benchmark', str(path))['benchmark']
    assert record['date'] == '2026-01-03'
    rows = record['tables']['ratios']['rows']
    assert rows[0][1] == '1.50× / 3.00×' and rows[1][1] == '0.40× / 1.70×'


def test_render_shows_the_machine_next_to_each_table(tmp_path):
    results = R.load()
    for name, record in results['records'].items():
        for table in record['tables']:
            rendered = R.render_one(f'{name}/{table}', results)
            assert record['commit'] in rendered and record['date'] in rendered
            assert record['machine']['cpu'] in rendered and 'cores' in rendered


def test_record_table_needs_its_command(tmp_path):
    path = tmp_path / 't.json'
    path.write_text(json.dumps({'x': {'columns': ['a'], 'rows': [['1']]}}))
    with pytest.raises(SystemExit):
        R.main(['record', 'table', str(path), '--name', 'x', '--results', str(tmp_path / 'r.json'), '--no_render'])


def test_every_command_has_a_page():
    """Each user command (scripts/, utils/, benchmarks/, main.py, test.py) is named in the README's command table
    or in a docs page, so a reader can find the page that explains it."""
    text = '\n'.join(read(page) for page in R.pages())
    commands = ['main.py', 'test.py']
    for folder, suffixes in (('scripts', ('.py', '.sh')), ('utils', ('.py',)), ('benchmarks', ('.py',)),
                             (os.path.join('benchmarks', 'parity'), ('.py',))):
        for name in sorted(os.listdir(os.path.join(REPO, folder))):
            if name.endswith(suffixes) and name not in ('__init__.py', 'splits.py', 'setup_env.sh'):
                commands.append(name)
    missing = []
    for name in commands:
        module = name[:-3]
        if name not in text and f'.{module}' not in text and f' {module}' not in text:
            missing.append(name)
    assert missing == []
