"""Learning parity: the same recipe trained by this project (main.py + test.py) and by a PyTorch
re-implementation of the reference's 2020 training (benchmarks/parity/torch_reference_training.py), over seeds.

    python -m benchmarks.parity.harness                      # 5 seeds, both sides, the recipe below
    python -m benchmarks.parity.harness --seeds 1 2 --sides paddle --label pil -- --loader pil

The data is a generated motion dataset in UCF-101's layout (scripts/make_demo_dataset.py with 4
groups x 9 clips: 6 classes that differ only in motion, 162 training / 54 held-out videos on split
1), built once under --data_dir by the repository's own utilities. The recipe (flags below): ResNet-10-B,
8 x 48 x 48 clips, batch 8, SGD lr 0.003, momentum 0.9, dampening 0, weight decay 1e-3, multistep
20/25 over 30 epochs, multi-scale corner crops without flips ("MoveUp"/"MoveDown" differ only in
direction), [0, 1] inputs with the Kinetics mean and std, 2 loader workers, held-out video top-1
from non-overlapping centre-crop windows with softmax averaging.

Per side and seed it reports the late-training loss (mean train.log loss over the epochs after the
first milestone) and the held-out video top-1, then the mean and spread over seeds and whether the
two sides agree (loss within 2 %, accuracy within 0.03). Every run keeps its logs in
--work_dir/torch/seed<N>/ and --work_dir/<label>/seed<N>/; a finished run is not repeated (delete its folder to redo it),
an interrupted one starts again. Exit status: 0 parity, 1 no parity, 2 a run failed. Arguments after ``--`` go to main.py only (to measure a variant
of ours; give it its own --label). PyTorch is needed for the 'torch' side (scripts/test.sh
installs the CPU build).
"""
import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

from tqdm import tqdm

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIDES = ('torch', 'paddle')
LOSS_TOLERANCE = 0.02   # relative, on the mean late-training loss
ACC_TOLERANCE = 0.03    # absolute, on the mean held-out video top-1


def build_dataset(data_dir, python):
    """The motion dataset as JPEG frames + ucf101_01.json under data_dir, made once."""
    annotation = os.path.join(data_dir, 'ucf101_01.json')
    if os.path.isfile(annotation):
        return annotation
    steps = [
        ['scripts/make_demo_dataset.py', data_dir, '--n_groups', '4', '--n_clips', '9', '--no_progress'],
        ['utils/video_jpg_ucf101_hmdb51.py', os.path.join(data_dir, 'UCF-101'), os.path.join(data_dir, 'jpg')],
        ['utils/n_frames_ucf101_hmdb51.py', os.path.join(data_dir, 'jpg')],
        ['utils/ucf101_json.py', os.path.join(data_dir, 'ucfTrainTestlist'), data_dir,
         '--video_path', os.path.join(data_dir, 'jpg')],
    ]
    for step in steps:
        print('data:', ' '.join(step), flush=True)
        subprocess.run([python] + step, cwd=ROOT, check=True)
    return annotation


def recipe_flags(args):
    """Flags both sides understand, with the same meaning."""
    return ['--n_classes', str(args.n_classes), '--model_depth', str(args.model_depth), '--resnet_shortcut', 'B',
            '--resnet_widen_factor', str(args.widen_factor),
            '--sample_size', str(args.sample_size), '--sample_duration', str(args.sample_duration),
            '--batch_size', str(args.batch_size), '--learning_rate', str(args.learning_rate),
            '--momentum', '0.9', '--dampening', '0', '--weight_decay', '1e-3',
            '--multistep_milestones', *[str(m) for m in args.milestones], '--n_epochs', str(args.n_epochs),
            '--no_hflip', '--value_scale', '1', '--mean_dataset', 'kinetics', '--std_norm',
            '--n_threads', str(args.n_threads)]


def torch_commands(args, data_dir, run_dir, seed):
    return [[args.python, '-m', 'benchmarks.parity.torch_reference_training', '--video_path', os.path.join(data_dir, 'jpg'),
             '--annotation_path', os.path.join(data_dir, 'ucf101_01.json'), '--result_path', run_dir,
             '--manual_seed', str(seed)] + recipe_flags(args)]


def paddle_commands(args, data_dir, run_dir, seed):
    data = ['--video_path', os.path.join(data_dir, 'jpg'), '--annotation_path',
            os.path.join(data_dir, 'ucf101_01.json'), '--dataset', 'ucf101', '--device', 'cpu']
    train = ([args.python, 'main.py'] + data + recipe_flags(args) +
             ['--model', 'resnet', '--lr_scheduler', 'multistep', '--train_crop', 'corner', '--no_val',
              '--checkpoint', str(args.n_epochs), '--manual_seed', str(seed), '--no_tqdm',
              '--result_path', os.path.join(run_dir, 'train')] + args.main_args)
    test = [args.python, 'test.py'] + data + [
        '--resume_path', os.path.join(run_dir, 'train', 'last.pdparams'), '--result_path', os.path.join(run_dir, 'val'),
        '--batch_size', str(args.batch_size), '--n_threads', str(args.n_threads)]
    return [train, test]


def read_train_log(path):
    with open(path, newline='') as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f, delimiter='\t')]


def run_result(side, run_dir):
    """(train.log rows, held-out video top-1) of a finished run, else None."""
    if side == 'torch':
        log, metrics = 'train.log', 'metrics.json'
    else:
        log, metrics = os.path.join('train', 'train.log'), os.path.join('val', 'val_metrics.json')
    log, metrics = os.path.join(run_dir, log), os.path.join(run_dir, metrics)
    if not os.path.isfile(metrics):
        return None
    with open(metrics) as f:
        return read_train_log(log), float(json.load(f)['video_top1'])


def late_loss(rows, first_milestone):
    late = [r['loss'] for r in rows if r['epoch'] > first_milestone]
    return statistics.mean(late or [rows[-1]['loss']])


def run_one(side, args, data_dir, run_dir, seed):
    shutil.rmtree(run_dir, ignore_errors=True)  # an unfinished run starts again
    os.makedirs(run_dir)
    commands = (torch_commands if side == 'torch' else paddle_commands)(args, data_dir, run_dir, seed)
    with open(os.path.join(run_dir, 'commands.txt'), 'w') as f:
        f.write('\n'.join(' '.join(c) for c in commands) + '\n')
    start = time.time()
    with open(os.path.join(run_dir, 'output.txt'), 'w') as out:
        for command in commands:
            status = subprocess.run(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT).returncode
            if status:
                print(f'error: {side} seed {seed} failed (exit {status}); see {os.path.join(run_dir, "output.txt")}',
                      file=sys.stderr)
                sys.exit(2)
    with open(os.path.join(run_dir, 'seconds.txt'), 'w') as f:
        f.write(f'{time.time() - start:.1f}\n')


def spread(values):
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def summarize(results, args):
    """Markdown table + verdict; results[side][seed] = (late loss, video top-1)."""
    lines = ['| seed | ' + ' | '.join(f'{s}: late loss | {s}: video top-1' for s in SIDES if s in results) + ' |',
             '|---|' + '---|---|' * len(results)]
    for seed in args.seeds:
        cells = []
        for side in SIDES:
            if side in results:
                loss, acc = results[side][seed]
                cells += [f'{loss:.4f}', f'{acc:.3f}']
        lines.append(f'| {seed} | ' + ' | '.join(cells) + ' |')
    summary = {}
    cells = []
    for side in SIDES:
        if side in results:
            losses = [results[side][s][0] for s in args.seeds]
            accs = [results[side][s][1] for s in args.seeds]
            summary[side] = {'late_loss': spread(losses), 'video_top1': spread(accs)}
            cells += ['{:.4f} ± {:.4f}'.format(*summary[side]['late_loss']),
                      '{:.3f} ± {:.3f}'.format(*summary[side]['video_top1'])]
    lines.append('| mean ± sd | ' + ' | '.join(cells) + ' |')
    if len(summary) == 2:
        n = len(args.seeds)
        (loss_p, loss_p_sd), (loss_t, loss_t_sd) = summary['paddle']['late_loss'], summary['torch']['late_loss']
        (acc_p, acc_p_sd), (acc_t, acc_t_sd) = summary['paddle']['video_top1'], summary['torch']['video_top1']
        loss_gap, acc_gap = loss_p / loss_t - 1, acc_p - acc_t
        # standard errors of the differences of the means (independent seeds on each side)
        loss_gap_se = (loss_p_sd ** 2 / n + loss_t_sd ** 2 / n) ** 0.5 / loss_t
        acc_gap_se = (acc_p_sd ** 2 / n + acc_t_sd ** 2 / n) ** 0.5
        summary.update(loss_gap_relative=loss_gap, loss_gap_relative_se=loss_gap_se, acc_gap=acc_gap,
                       acc_gap_se=acc_gap_se,
                       parity=abs(loss_gap) <= LOSS_TOLERANCE and abs(acc_gap) <= ACC_TOLERANCE)
        lines.append('')
        lines.append(f'paddle - torch over {n} seeds: late loss {loss_gap:+.2%} ± {loss_gap_se:.2%} (standard error; '
                     f'tolerance ±{LOSS_TOLERANCE:.0%}), video top-1 {acc_gap:+.3f} ± {acc_gap_se:.3f} '
                     f'(tolerance ±{ACC_TOLERANCE}) -> ' + ('PARITY' if summary['parity'] else 'NO PARITY'))
    return '\n'.join(lines), summary


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], allow_abbrev=False,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--seeds', type=int, nargs='+', default=[1, 2, 3, 4, 5], help='--manual_seed of each run')
    p.add_argument('--sides', nargs='+', choices=SIDES, default=list(SIDES))
    p.add_argument('--data_dir', default=os.path.join('data', 'parity'), help='where the dataset is built once')
    p.add_argument('--work_dir', default=os.path.join('results', 'parity'), help='where the runs are kept')
    p.add_argument('--label', default='default', help="name of this configuration of ours (a subfolder)")
    p.add_argument('--n_classes', type=int, default=6, help='classes of the dataset in --data_dir')
    p.add_argument('--model_depth', type=int, default=10)
    p.add_argument('--widen_factor', type=float, default=1.0, help='--resnet_widen_factor')
    p.add_argument('--sample_size', type=int, default=48)
    p.add_argument('--sample_duration', type=int, default=8)
    p.add_argument('--batch_size', type=int, default=8)
    p.add_argument('--learning_rate', type=float, default=0.003)
    p.add_argument('--milestones', type=int, nargs='+', default=[20, 25])
    p.add_argument('--n_epochs', type=int, default=30)
    p.add_argument('--n_threads', type=int, default=2, help='DataLoader workers on both sides')
    p.add_argument('--python', default=sys.executable, help='interpreter for the runs')
    p.add_argument('main_args', nargs='*', help='after --: extra flags for main.py (ours only)')
    args = p.parse_args(argv)
    if args.main_args and args.label == 'default':
        p.error('extra main.py flags change our side: name the configuration with --label')
    if args.n_epochs <= args.milestones[0]:
        p.error('--n_epochs must exceed the first milestone (the late loss averages the epochs after it)')
    return args


def main(argv=None):
    args = parse_args(argv)
    os.chdir(ROOT)
    data_dir = os.path.abspath(args.data_dir)
    build_dataset(data_dir, args.python)
    work_dir = os.path.abspath(os.path.join(args.work_dir, args.label))
    # The PyTorch side does not depend on our flags, so every label shares its runs.
    run_dirs = {(side, seed): os.path.join(os.path.abspath(args.work_dir), 'torch' if side == 'torch' else args.label,
                                           f'seed{seed}')
                for side in args.sides for seed in args.seeds}
    todo = sorted((key for key, d in run_dirs.items() if run_result(key[0], d) is None), key=lambda k: (k[1], k[0]))
    for side, seed in tqdm(todo, desc='parity runs', unit='run'):
        run_one(side, args, data_dir, run_dirs[side, seed], seed)
    results = {}
    for (side, seed), run_dir in run_dirs.items():
        rows, top1 = run_result(side, run_dir)
        results.setdefault(side, {})[seed] = (late_loss(rows, args.milestones[0]), top1)
    table, summary = summarize(results, args)
    print(table)
    os.makedirs(work_dir, exist_ok=True)
    with open(os.path.join(work_dir, 'summary.json'), 'w') as f:
        json.dump({'seeds': args.seeds, 'results': {s: {str(k): v for k, v in r.items()} for s, r in results.items()},
                   'summary': summary, 'main_args': args.main_args, 'table': table}, f, indent=2)
    return 0 if summary.get('parity', True) else 1


if __name__ == '__main__':
    sys.exit(main())
