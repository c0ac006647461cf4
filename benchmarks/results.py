"""The measured numbers of the docs: one file, docs/results.json, the command that adds a measurement to it,
and the command that renders the docs' tables from it.

    python -m benchmarks.results record demo RUN_DIR ... [--log DEMO_LOG]     # scripts/demo.sh runs (DEMO_RESULTS)
    python -m benchmarks.results record benchmark BENCH.json                  # benchmarks.benchmark --json BENCH.json
    python -m benchmarks.results record parity WORK_DIR/LABEL/summary.json    # benchmarks.parity.harness's summary
    python -m benchmarks.results record table TABLE.json --name NAME --command CMD   # any other command's table
    python -m benchmarks.results render            # rewrite every marked table in README.md and docs/*.md
    python -m benchmarks.results render --check    # exit 1, naming the table, when one disagrees with the file

Each record names the command that produced it, the commit, the date and the machine (CPU model, cores, GPU,
Paddle version), taken from where `record` runs unless given (--commit, --date, --machine: for a measurement
carried over from an earlier commit). Recording a name again replaces that record. In a page, a table is the
text between `<!-- results:NAME -->` and `<!-- /results -->`, where NAME is `record/table` or `summary`.
"""
import argparse
import csv
import datetime
import glob
import json
import os
import platform
import re
import statistics
import subprocess
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(REPO_ROOT, 'docs', 'results.json')
MARKER = re.compile(r'(<!-- results:(?P<name>[\w./-]+) -->\n)(?P<body>.*?)(<!-- /results -->)', re.S)


# ---- the machine and the commit ---------------------------------------------------------------------------

def package_version(*dists):
    """The installed version of the first of these distributions that is installed."""
    from importlib import metadata
    for dist in dists:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return None


def gpu_names():
    try:
        out = subprocess.run(['nvidia-smi', '--query-gpu=name', '--format=csv,noheader'], capture_output=True,
                             text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line.strip() for line in out.stdout.splitlines() if line.strip()] if out.returncode == 0 else []


def cpu_model():
    """The CPU's model name (/proc/cpuinfo), else what the platform module says."""
    try:
        with open('/proc/cpuinfo') as f:
            return next(line.split(':', 1)[1].strip() for line in f if line.startswith('model name'))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def machine():
    found = {'cpu': cpu_model(), 'cores': os.cpu_count(), 'gpu': ', '.join(gpu_names()) or None,
             'paddle': package_version('paddlepaddle', 'paddlepaddle-gpu'), 'python': platform.python_version()}
    torch = package_version('torch')
    if torch:
        found['torch'] = torch
    return found


def git_commit():
    out = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=REPO_ROOT, capture_output=True, text=True)
    return out.stdout.strip() or None


def describe(m):
    """One line for a machine: 'AMD EPYC, 2 cores, no GPU, Paddle 3.3.1'."""
    parts = [m.get('cpu') or 'unknown CPU', f"{m.get('cores')} cores", m.get('gpu') or 'no GPU',
             f"Paddle {m.get('paddle')}"]
    if m.get('note'):
        parts.append(m['note'])
    return ', '.join(parts)


# ---- the file ----------------------------------------------------------------------------------------------

def load(path=RESULTS):
    if not os.path.exists(path):
        return {'records': {}}
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def save(results, path=RESULTS):
    text = json.dumps(results, indent=1, ensure_ascii=False, sort_keys=False) + '\n'
    tmp = path + '.tmp'
    with open(tmp, 'w', encoding='utf-8') as f:
        f.write(text)
    os.replace(tmp, path)


def make_record(args, kind, tables, data=None):
    m = machine()
    if args.machine:
        m = dict(json.loads(args.machine))
    if args.machine_note:
        m['note'] = args.machine_note
    record = {'kind': kind, 'command': args.command, 'commit': args.commit or git_commit(),
              'date': args.date or datetime.date.today().isoformat(), 'machine': m, 'tables': tables}
    if args.source:
        record['source'] = args.source
    if data:
        record['data'] = data
    return record


def table(columns, rows, note=None):
    out = {'columns': columns, 'rows': rows}
    if note:
        out['note'] = note
    return out


def mean_sd(values, fmt):
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f'{fmt.format(statistics.mean(values))} ± {fmt.format(sd)}'


# ---- record: scripts/demo.sh -------------------------------------------------------------------------------

EXCERPT = re.compile(r'^(.*: \d+ classes, .*videos|device .*|epoch 1/\d+ .*|epoch (\d+)/\2 .*|test subset: .*|'
                     r'clip top-1 .*|video top-[15] .*|lowest classes: .*)$')


def demo_excerpt(log_path):
    """The lines a user compares with: the annotation summary, the device line, the first and last epochs and
    test.py's accuracy lines; paths shortened to the defaults (data/demo, results/demo)."""
    with open(log_path, encoding='utf-8', errors='replace') as f:
        text = f.read().replace('\r', '\n')
    lines = [line.rstrip() for line in text.splitlines() if EXCERPT.match(line.rstrip())]
    out, seen_last = [], False
    for line in lines:
        line = re.sub(r'(/[^\s:]*)?/(ucf101_0[123]\.json)', r'data/demo/\2', line)
        if line.startswith('epoch 1/'):
            out += [line, '...']
        elif re.match(r'epoch (\d+)/\1 ', line):
            if not seen_last:
                out.append(line)
                seen_last = True
        elif ' classes, ' in line and any(' classes, ' in o for o in out):
            continue  # the first split's annotation, the one the demo trains on
        elif line not in out:
            out.append(line)
    return out


def lowest_class(per_class_csv):
    with open(per_class_csv, newline='', encoding='utf-8') as f:
        rows = [r for r in csv.DictReader(f) if r.get('top1') not in (None, '')]
    worst = min(rows, key=lambda r: float(r['top1']))
    return '– (all 1.00)' if float(worst['top1']) >= 1.0 else f"{worst['class_name']} {float(worst['top1']):.2f}"


def run_seconds(run_dir):
    """Training and test.py, from the run's own files: opts.json (written as training starts) to the metrics
    test.py writes last; None for a resumed run (its files do not give the time of one call)."""
    if glob.glob(os.path.join(run_dir, 'train', 'opts_resume_*.json')):
        return None
    start = os.path.getmtime(os.path.join(run_dir, 'train', 'opts.json'))
    return os.path.getmtime(os.path.join(run_dir, 'val', 'val_metrics.json')) - start


def record_demo(args):
    seeds = []
    for run_dir in args.inputs:
        with open(os.path.join(run_dir, 'train', 'opts.json'), encoding='utf-8') as f:
            seed = json.load(f).get('manual_seed')
        with open(os.path.join(run_dir, 'val', 'val_metrics.json'), encoding='utf-8') as f:
            metrics = json.load(f)
        seeds.append({'seed': seed, 'video_top1': metrics['video_top1'],
                      'videos': metrics.get('videos') or metrics.get('n_videos'),
                      'lowest_class': lowest_class(os.path.join(run_dir, 'val', 'per_class.csv')),
                      'seconds': run_seconds(run_dir)})
        if seeds[-1]['seconds'] is not None:
            seeds[-1]['seconds'] = round(seeds[-1]['seconds'])
    seeds.sort(key=lambda s: s['seed'])
    rows = []
    for s in seeds:
        count = f" ({round(s['video_top1'] * s['videos'])}/{s['videos']})" if s['videos'] else ''
        time = '– (resumed)' if s['seconds'] is None else f"{s['seconds']} s"
        rows.append([str(s['seed']), f"{s['video_top1']:.3f}{count}", s['lowest_class'], time])
    tops, secs = [s['video_top1'] for s in seeds], [s['seconds'] for s in seeds if s['seconds'] is not None]
    rows.append(['mean ± sd', mean_sd(tops, '{:.3f}'), '', f'{min(secs)}–{max(secs)} s' if secs else '–'])
    tables = {'seeds': table(['`--manual_seed`', 'video top-1', 'lowest class', 'training + `test.py` (from the run\'s files)'], rows)}
    if args.log:
        tables['excerpt'] = {'text': demo_excerpt(args.log)}
    args.command = args.command or ('DEMO_RESULTS=results/demo_sN bash scripts/demo.sh --no_tqdm --manual_seed N, '
                                    f"N = {', '.join(str(s['seed']) for s in seeds)}, one call after another")
    return make_record(args, 'demo', tables, {'seeds': seeds})


# ---- record: benchmarks.benchmark --json -------------------------------------------------------------------

def _model_rows(report, shape):
    """The model section's ratios to PyTorch: training step, inference, untuned."""
    def ratio(mode, graph, framework='paddle'):
        for r in report.get('model', []):
            if (r['framework'], r['mode'], r['graph']) == (framework, mode, graph) and 'time_vs_torch' in r:
                return r['time_vs_torch']
        return None

    a = report.get('arguments', {})
    return [[f'training step, time vs PyTorch ({shape}, batch {a.get("batch_size")}): static oneDNN graph '
             '(CPU default) / dynamic graph', _ratios(ratio('train', 'static oneDNN'), ratio('train', 'dygraph'))],
            [f'inference, time vs PyTorch (batch {a.get("infer_batch_size")}): static oneDNN graph '
             '(CPU default) / dynamic graph', _ratios(ratio('inference', 'static oneDNN'),
                                                      ratio('inference', 'dygraph'))],
            ['training step, Paddle untuned (one math thread, MKL slow path), time vs PyTorch',
             _ratios(ratio('train', 'dygraph', 'paddle untuned'))]]


def _ratios(*values):
    return ' / '.join('–' if v is None else f'{v:.2f}×' for v in values)


def _loader_row(report):
    def loader_ratio(mode):
        rs = {r['loader']: r for r in report['loader'] if r['mode'] == mode}
        if 'fast' in rs and 'naive' in rs and rs['naive'].get('clips_per_cpu_s'):
            return rs['fast']['clips_per_cpu_s'] / rs['naive']['clips_per_cpu_s']
        return None
    return ['loader `fast` vs the reference\'s per-frame loader, clips per CPU second: training / validation',
            _ratios(loader_ratio('train'), loader_ratio('val'))]


def _e2e_rows(e):
    torch_loop = e['torch']['train_loop_s']
    rows = [[f"`main.py`'s training loop vs PyTorch's, {e['epochs']} epochs ({e.get('recipe', '')}): "
             'default / `--train_graph dygraph`',
             _ratios(*(e[s]['train_loop_s'] / torch_loop if s in e else None for s in ('paddle', 'paddle dygraph')))]]
    p = e.get('paddle')
    if p:
        shares = [('forward + backward', 'forward_backward_s'), ('validation', 'validation_s'),
                  ('data wait', 'data_wait_s'), ('optimizer', 'optimizer_s'), ('checkpoints', 'checkpoints_s'),
                  ('start-up and the rest', 'other_s')]
        rows.append(["`main.py`'s wall time (default graph), shares",
                     ', '.join(f"{name} {100 * p[key] / p['wall_s']:.0f} %" for name, key in shares if key in p)])
    return rows


def benchmark_rows(report):
    """The table rows of a benchmark.py --json report."""
    a = report.get('arguments', {})
    shape = f"{a.get('model', 'resnet')}-{a.get('model_depth', 18)}-{a.get('resnet_shortcut', 'B')}, " \
            f"3×{a.get('sample_duration', 16)}×{a.get('sample_size', 112)}²"
    rows = _model_rows(report, shape) if 'model' in report else []
    if 'loader' in report:
        rows.append(_loader_row(report))
    if 'e2e' in report and 'torch' in report['e2e']:
        rows += _e2e_rows(report['e2e'])
    if 'prep' in report:
        p = report['prep']
        rows.append([f"avi → jpg with PyAV, {p['jobs']} jobs", f"{p['videos_per_s']:.1f} videos/s "
                     f"({p['frames_per_s']:.0f} frames/s)"])
    if 'flops' in report:
        fl = report['flops']
        rows.append([f"{shape}: parameters, multiply-accumulates per clip",
                     f"{fl['params_m']:.2f} M, {fl['gmacs_per_clip']:.2f} GMACs"])
    return rows


def record_benchmark(args):
    with open(args.inputs[0], encoding='utf-8') as f:
        report = json.load(f)
    if report.get('arguments', {}).get('json'):
        report['arguments']['json'] = os.path.basename(report['arguments']['json'])  # not this machine's path
    env = report.get('environment', {})
    args.command = args.command or 'python -m benchmarks.benchmark --json BENCH.json'
    record = make_record(args, 'benchmark', {'ratios': table(['measure', 'value'], benchmark_rows(report))},
                         {'report': report})
    if not args.date and env.get('date'):
        record['date'] = env['date']
    for key in ('python', 'paddle', 'torch', 'numpy'):
        if env.get(key) and not args.machine:
            record['machine'][key] = env[key]
    return record


# ---- record: benchmarks.parity.harness's summary.json ------------------------------------------------------

def record_parity(args):
    with open(args.inputs[0], encoding='utf-8') as f:
        summary = json.load(f)
    results, seeds = summary['results'], summary['seeds']
    sides = [s for s in ('torch', 'paddle') if s in results]
    names = {'torch': 'PyTorch side', 'paddle': 'ours'}
    columns = ['seed'] + [f'{names[s]}: {what}' for s in sides for what in ('late loss', 'video top-1')]
    rows = [[str(seed)] + [f'{v:.4f}' if i == 0 else f'{v:.3f}' for s in sides
                           for i, v in enumerate(results[s][str(seed)])] for seed in seeds]
    rows.append(['mean ± sd'] + [mean_sd([results[s][str(k)][i] for k in seeds], '{:.4f}' if i == 0 else '{:.3f}')
                                 for s in sides for i in (0, 1)])
    s = summary['summary']
    note = None
    if 'loss_gap_relative' in s:
        note = (f"ours − PyTorch side over {len(seeds)} seeds (± standard error): late loss "
                f"{s['loss_gap_relative']:+.1%} ± {s['loss_gap_relative_se']:.1%} (tolerance ±2 %), video top-1 "
                f"{s['acc_gap']:+.3f} ± {s['acc_gap_se']:.3f} (tolerance ±0.03)")
    extra = ' '.join(summary.get('main_args') or [])
    args.command = args.command or ('python -m benchmarks.parity.harness --seeds ' + ' '.join(map(str, seeds))
                                    + (f' -- {extra}' if extra else ''))
    return make_record(args, 'parity', {'seeds': table(columns, rows, note)},
                       {'seeds': seeds, 'results': results, 'summary': s})


# ---- record: any other table -------------------------------------------------------------------------------

def record_table(args):
    """TABLE.json: {"NAME": {"columns": [...], "rows": [[...], ...], "note": "..."}, ...} (one or more tables)."""
    with open(args.inputs[0], encoding='utf-8') as f:
        tables = json.load(f)
    if not args.command:
        sys.exit('error: record table needs --command (what produced the numbers)')
    return make_record(args, 'table', tables)


RECORDERS = {'demo': record_demo, 'benchmark': record_benchmark, 'parity': record_parity, 'table': record_table}


# ---- render ------------------------------------------------------------------------------------------------

def provenance(record):
    bits = [f"`{record['command']}`", f"commit {record['commit']}", record['date'], describe(record['machine'])]
    if record.get('source'):
        bits.append(record['source'])
    return '<sub>' + ' · '.join(bits) + '</sub>'


def markdown_table(t):
    lines = ['| ' + ' | '.join(t['columns']) + ' |', '|' + '---|' * len(t['columns'])]
    lines += ['| ' + ' | '.join(str(c) for c in row) + ' |' for row in t['rows']]
    if t.get('note'):
        lines += ['', t['note']]
    return '\n'.join(lines)


def render_summary(results):
    """README's results table: one line per headline number, each naming its record."""
    recs = results['records']
    rows = []
    for name in ('demo-idle', 'demo'):  # each a table whose last row is 'mean ± sd | top-1 | | time range'
        demo = recs.get(name)
        if demo:
            rows_ = demo['tables']['seeds']['rows']
            last = rows_[-1]
            rows.append([f"demo (`bash scripts/demo.sh`), seeds {rows_[0][0]}–{rows_[-2][0]}: video top-1 (mean ± sd; "
                         f"chance 0.167); time per seed, {demo['tables']['seeds']['columns'][3]}", f"{last[1]}; {last[3]}",
                         f"{demo['commit']}, {demo['date']}, {describe(demo['machine'])}"])
    parity = recs.get('parity')
    if parity and 'loss_gap_relative' in parity['data']['summary']:
        s, n = parity['data']['summary'], len(parity['data']['seeds'])
        where = f"{parity['commit']}, {parity['date']}, {describe(parity['machine'])}"
        rows.append([f'reference parity ([docs/PARITY.md](docs/PARITY.md)), {n} seeds: held-out video top-1, '
                     'ours − PyTorch reference loop', f"{s['acc_gap']:+.3f} ± {s['acc_gap_se']:.3f} (SE)", where])
        rows.append([f'reference parity, {n} seeds: late training loss, ours vs PyTorch reference loop',
                     f"{s['loss_gap_relative']:+.1%} ± {s['loss_gap_relative_se']:.1%} (SE)", where])
    labels = ['training step time vs PyTorch, ResNet-18-B, CPU default graph',
              'inference time vs PyTorch, ResNet-18-B, CPU default graph']
    idle = recs.get('benchmark-idle')
    if idle:  # a carried-over table: columns '' | run 1 | run 2, cells 'static / dynamic'
        for label, row in zip(labels, idle['tables']['runs']['rows'][:2]):
            rows.append([label + f' ({len(row) - 1} runs)', ', '.join(c.split(' / ')[0] for c in row[1:]),
                         f"{idle['commit']}, {idle['date']}, {describe(idle['machine'])}"])
    # benchmark.py runs on a shared machine (the 'benchmark' record) stay in PERFORMANCE.md: under load the
    # PyTorch side's times swing as much as ours, so their ratios are no headline
    return markdown_table(table(['measure', 'value', 'measured at (commit, date, machine)'], rows))


def render_one(name, results):
    if name == 'summary':
        return render_summary(results) + '\n'
    record_name, _, table_name = name.partition('/')
    record = results['records'].get(record_name)
    if record is None or table_name not in record['tables']:
        raise KeyError(f'no table {name!r} in {os.path.relpath(RESULTS, REPO_ROOT)}')
    t = record['tables'][table_name]
    if 'text' in t:
        body = '```\n' + '\n'.join(t['text']) + '\n```'
    else:
        body = markdown_table(t)
    return body + '\n\n' + provenance(record) + '\n'


def pages():
    return [os.path.join(REPO_ROOT, 'README.md')] + sorted(glob.glob(os.path.join(REPO_ROOT, 'docs', '*.md')))


def render_text(text, results, missing=None):
    """The page with every marked table rendered; a marker whose table is not in the file keeps its text and
    its name goes to ``missing``."""
    def one(m):
        try:
            return m.group(1) + render_one(m.group('name'), results) + m.group(4)
        except KeyError:
            if missing is not None:
                missing.append(m.group('name'))
            return m.group(0)
    return MARKER.sub(one, text)


def render(check=False, results_path=RESULTS):
    """Rewrite (or with ``check``, only compare) every marked table; 1 if a table disagrees or is missing."""
    results = load(results_path)
    problems = []
    for page in pages():
        with open(page, encoding='utf-8') as f:
            text = f.read()
        missing = []
        new = render_text(text, results, missing)
        rel = os.path.relpath(page, REPO_ROOT)
        problems += [f'{rel}: {name} (not in the results file)' for name in missing]
        if new == text:
            continue
        if check:
            stale = [m.group('name') for m, n in zip(MARKER.finditer(text), MARKER.finditer(new))
                     if m.group(0) != n.group(0)]
            problems.append(f"{rel}: {', '.join(stale)} (differs from the results file)")
        else:
            with open(page, 'w', encoding='utf-8') as f:
                f.write(new)
            print(f'rendered {rel}')
    if problems:
        print('tables that disagree with docs/results.json (`python -m benchmarks.results render` rewrites '
              'them):\n  ' + '\n  '.join(problems), file=sys.stderr)
        return 1
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], allow_abbrev=False,
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split('\n\n')[1])
    sub = p.add_subparsers(dest='action', required=True)
    r = sub.add_parser('record', help='add (or replace) a measurement in docs/results.json')
    r.add_argument('kind', choices=sorted(RECORDERS))
    r.add_argument('inputs', nargs='+', help='demo: DEMO_RESULTS folders; benchmark: --json file; parity: '
                                             'summary.json; table: a JSON of tables')
    r.add_argument('--name', help='record name (default: the kind; parity: parity, or parity-LABEL)')
    r.add_argument('--log', help="demo: scripts/demo.sh's printed output, for the excerpt")
    r.add_argument('--command', help='the command that produced the numbers (default: the kind\'s command)')
    r.add_argument('--commit', help='commit the numbers were measured at (default: HEAD)')
    r.add_argument('--date', help='date of the measurement, YYYY-MM-DD (default: today)')
    r.add_argument('--machine', help='JSON machine description (default: this machine)')
    r.add_argument('--machine_note', help='added to the machine line, e.g. "shared with 4 other jobs"')
    r.add_argument('--source', help='where carried-over numbers were taken from')
    r.add_argument('--results', default=RESULTS, help='the results file')
    r.add_argument('--no_render', action='store_true', help='do not re-render the tables afterwards')
    d = sub.add_parser('render', help='regenerate the marked tables of README.md and docs/*.md')
    d.add_argument('--check', action='store_true', help='change nothing; exit 1 if a table disagrees')
    d.add_argument('--results', default=RESULTS, help='the results file')
    args = p.parse_args(argv)
    if args.action == 'render':
        return render(args.check, args.results)
    results = load(args.results)
    record = RECORDERS[args.kind](args)
    name = args.name or args.kind
    results['records'][name] = record
    save(results, args.results)
    print(f'recorded {name} in {os.path.relpath(args.results, REPO_ROOT)}')
    return 0 if args.no_render else render(results_path=args.results)


if __name__ == '__main__':
    sys.exit(main())
