"""Run logs: the reference's TSV files (train.log, train_batch.log, val.log) and VisualDL records: the
training curves (ScalarWriter), a run's hyper-parameters and final metrics (write_hparams: VisualDL's
hparams view compares runs), and test.py's evaluation of a checkpoint (write_evaluation_records: confusion
matrix and per-class accuracy as images, top-1/top-5 at the checkpoint's epoch, PR curves per class).
visualdl_command() is the command that shows them (scripts/visualdl_server.py: any browser locale, short
run names)."""
import contextlib
import csv
import glob
import io
import json
import os
import shlex
import shutil
import sys
import tempfile

from core.files import atomic_open, make_normal_mode


class TSVLogger:
    """A tab-separated log with a header row, as the reference writes; appends when resuming a run, after
    dropping the rows of epoch ``keep_before`` and later (and a half-written last row)."""

    def __init__(self, path, header, resume=False, keep_before=None):
        self.header = header
        append = resume and os.path.isfile(path) and os.path.getsize(path) > 0
        if append and keep_before is not None:
            drop_epochs_from(path, keep_before)
        self.file = open(path, 'a' if append else 'w', newline='')
        self.writer = csv.writer(self.file, delimiter='\t')
        if not append:
            self.writer.writerow(header)
            self.file.flush()

    def log(self, values):
        self.writer.writerow([_format(values[col]) for col in self.header])
        self.file.flush()

    def close(self):
        self.file.close()


def drop_epochs_from(path, epoch):
    """Rewrite the TSV log at ``path`` (atomically) without its rows of ``epoch`` and later."""
    with open(path, newline='') as f:
        rows = list(csv.reader(f, delimiter='\t'))
    if not rows or 'epoch' not in rows[0]:
        return
    column = rows[0].index('epoch')

    def kept(row):
        try:
            return len(row) == len(rows[0]) and int(row[column]) < epoch
        except ValueError:
            return False

    keep = [rows[0]] + [row for row in rows[1:] if kept(row)]
    if len(keep) == len(rows):
        return
    with atomic_open(path, 'w', newline='') as f:
        csv.writer(f, delimiter='\t').writerows(keep)


def _format(value):
    return f'{value:.6g}' if isinstance(value, float) else value


# One record file per run folder, continued by every resumed run: VisualDL shows only the newest file of a
# folder, so a new file per run would show a resumed run's epochs alone (and nothing after a run that had
# no epoch left to train).
RECORD_FILE = 'vdlrecords.run.log'


class ScalarWriter:
    """VisualDL scalars in <result_path>/vdl/vdlrecords.run.log; a no-op when disabled (other ranks, --no_vdl).
    ``keep_before``: resuming at that epoch, continue the folder's records without their steps of that epoch
    and later (as TSVLogger does); None: a new run, which starts the records afresh."""

    def __init__(self, logdir, enabled=True, keep_before=None):
        self.writer = None
        self.logdir = logdir
        if enabled:
            from visualdl import LogWriter  # imported lazily: VisualDL pulls in Flask, pandas and matplotlib
            os.makedirs(logdir, exist_ok=True)
            continue_records(logdir, keep_before)
            with contextlib.redirect_stdout(io.StringIO()):  # its "... is exists, VisualDL will add logs to it."
                self.writer = LogWriter(logdir=logdir, file_name=RECORD_FILE)

    def add(self, prefix, metrics, step):
        if self.writer is None:
            return
        for name, value in metrics.items():
            self.writer.add_scalar(f'{prefix}/{name}', float(value), step)
        self.writer.flush()  # per epoch: a killed run keeps its curve up to its last checkpoint

    def add_hparams(self, hparams, metrics, step=None):
        """The run's hyper-parameters and final metrics (write_hparams), closing this writer first."""
        if self.writer is None:
            return
        self.close()
        self.writer = None
        write_hparams(self.logdir, hparams, metrics, step)

    def close(self):
        if self.writer is not None:
            self.writer.close()


def read_scalars(path):
    """{tag: {step: (value, walltime in ms)}} of the VisualDL record file at ``path``."""
    from visualdl import LogReader
    with contextlib.redirect_stdout(io.StringIO()):
        reader = LogReader(file_path=path)
        tags = reader.get_tags().get('scalar', [])
        return {tag: {int(r.id): (float(r.value), int(r.timestamp)) for r in reader.get_data('scalar', tag)}
                for tag in tags}


def continue_records(logdir, keep_before):
    """Leave ``logdir`` with at most RECORD_FILE, holding the scalars of steps before ``keep_before`` from
    every record file there (older runs wrote one file per run; later files win a step); nothing when
    ``keep_before`` is None. The rewrite is atomic: an interruption leaves the old files."""
    paths = sorted(glob.glob(os.path.join(logdir, 'vdlrecords.*')), key=os.path.getmtime)
    target = os.path.join(logdir, RECORD_FILE)
    if keep_before is None:
        for path in paths:
            os.remove(path)
        return
    if not paths:
        return
    scalars = {}
    for path in paths:
        for tag, points in read_scalars(path).items():
            scalars.setdefault(tag, {}).update(points)
    kept = {tag: {step: point for step, point in points.items() if step < keep_before}
            for tag, points in scalars.items()}
    if paths == [target] and kept == scalars:
        return  # nothing to drop: LogWriter appends to it
    _rewrite_records(logdir, kept)
    for path in paths:
        if path != target:
            os.remove(path)


def _rewrite_records(logdir, scalars, more=None):
    """Replace <logdir>/RECORD_FILE, atomically, by one holding ``scalars`` ({tag: {step: (value, walltime in ms
    or None: now)}}) and what ``more(writer)`` adds."""
    from visualdl import LogWriter
    tmp_dir = tempfile.mkdtemp(prefix='.rewrite-', dir=logdir)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            writer = LogWriter(logdir=tmp_dir, file_name=RECORD_FILE)
            for tag, points in scalars.items():
                for step in sorted(points):
                    value, walltime = points[step]
                    writer.add_scalar(tag, value, step, walltime=walltime)
            if more is not None:
                more(writer)
            writer.close()
        make_normal_mode(os.path.join(tmp_dir, RECORD_FILE))
        os.replace(os.path.join(tmp_dir, RECORD_FILE), os.path.join(logdir, RECORD_FILE))
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


# ----------------------------------------------------------------------------------------------
# Hyper-parameters (VisualDL's hparams view) and test.py's evaluation records
# ----------------------------------------------------------------------------------------------

# The flags recorded for every training run (those it has), besides the ones given on its command line.
HPARAM_NAMES = ('dataset', 'n_classes', 'model', 'model_depth', 'resnet_shortcut', 'resnet_widen_factor',
                'kernel_type', 'sample_size', 'sample_duration', 'train_crop', 'batch_size', 'n_epochs',
                'optimizer', 'learning_rate', 'momentum', 'dampening', 'weight_decay', 'nesterov', 'lr_scheduler',
                'warmup_epochs', 'pretrain_path', 'manual_seed')
# The final metrics a training run shows in VisualDL's hparams view: the last value of each of its curves (the
# tags ScalarWriter writes), and the best validation accuracy (written at the last epoch).
FINAL_METRIC_TAGS = ('train/loss', 'train/acc', 'val/loss', 'val/acc')


def hparams_of(options, given=(), names=HPARAM_NAMES):
    """{flag: value} for VisualDL's hparams view from a run's options (an argparse Namespace or a dict, e.g.
    opts.json): the flags in ``names`` and those in ``given`` (the ones typed, opts.explicit_options), without
    the folder flags (--root_path, --result_path, ...: they name the run, they are not its settings).
    Values become int, float or str (VisualDL's types; lists and None as their JSON text)."""
    options = vars(options) if not isinstance(options, dict) else options
    out = {}
    for name in list(names) + [g for g in given if g not in names]:
        if name not in options or name in ('root_path', 'result_path', 'video_path', 'annotation_path',
                                           'resume_path') or name.endswith('_dir'):
            continue
        value = options[name]
        if name == 'pretrain_path':
            value = os.path.basename(value) if value else ''
        out[name] = _hparam_value(value)
    return out


def _hparam_value(value):
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float, str)):
        return value
    if hasattr(value, 'item'):  # numpy scalars
        return value.item()
    return json.dumps(value)


def write_hparams(logdir, hparams, metrics, step=None):
    """Record a run's hyper-parameters and its final metrics in <logdir>/RECORD_FILE, for VisualDL's hparams
    view (which compares runs side by side). ``hparams``: {name: value} (hparams_of); ``metrics``: {scalar tag:
    value}: a number is written as that tag's point at ``step`` (default: the folder's last step), e.g.
    'val/best_acc'; None names a curve already written, whose last value the view shows (left out when the
    folder has no such curve, e.g. 'val/acc' with --no_val). Replaces the hparams of an earlier call (a
    resumed run ends with its own settings); the folder's scalars are kept. Returns the record file."""
    os.makedirs(logdir, exist_ok=True)
    target = os.path.join(logdir, RECORD_FILE)
    scalars = {}
    for path in sorted(glob.glob(os.path.join(logdir, 'vdlrecords.*')), key=os.path.getmtime):
        for tag, points in read_scalars(path).items():
            scalars.setdefault(tag, {}).update(points)
    if step is None:
        step = max((s for points in scalars.values() for s in points), default=0)
    for tag, value in metrics.items():
        if value is not None:
            scalars.setdefault(tag, {})[int(step)] = (float(value), None)
    metric_tags = [tag for tag in metrics if tag in scalars]
    params = {name: _hparam_value(value) for name, value in hparams.items()}

    def add(writer):
        writer.add_hparams(params, metric_tags)

    others = [p for p in glob.glob(os.path.join(logdir, 'vdlrecords.*')) if p != target]
    _rewrite_records(logdir, scalars, add)
    for path in others:  # their scalars are in the new file; VisualDL would show only one file of the folder
        os.remove(path)
    return target


def write_evaluation_records(logdir, epoch, cm, class_names, per_class, top1, top5, video_scores, labels,
                             subset='val', title='', num_thresholds=51):
    """test.py's evaluation of a checkpoint as VisualDL records in <logdir>/RECORD_FILE (appended: evaluations
    of several checkpoints into one --result_path make one curve), at step ``epoch`` (the checkpoint's):

    * scalars '<subset>/video_top1' and '<subset>/video_top5' (fractions);
    * images '<subset>/confusion_matrix' (engine.video_accuracy.confusion_image, rows true class) and
      '<subset>/per_class_accuracy' (a bar per class, worst first);
    * text '<subset>/per_class' (the per_class.csv table in Markdown, worst first);
    * a PR curve per class, 'pr_curve/<index> <class>', from the video-level scores ``video_scores`` (n x C,
      rows aligned with ``labels``: engine.video_accuracy.scores_of_ground_truth); videos without scores or
      with an unknown label are left out.

    ``per_class``: engine.video_accuracy.per_class_rows(...). Returns the record file."""
    import numpy as np
    from PIL import Image
    from visualdl import LogWriter
    from engine.video_accuracy import confusion_image, per_class_image, per_class_markdown
    step = int(epoch or 0)
    os.makedirs(logdir, exist_ok=True)
    scores = np.asarray(video_scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    keep = (labels >= 0) & (scores.sum(axis=1) != 0) if scores.size else np.zeros(0, bool)
    if scores.size and (scores.min() < 0 or scores.max() > 1):  # raw averaged outputs (--no_softmax_in_test)
        from engine.video_accuracy import softmax
        scores = softmax(scores)
    with contextlib.redirect_stdout(io.StringIO()):
        writer = LogWriter(logdir=logdir, file_name=RECORD_FILE)
        try:
            writer.add_scalar(f'{subset}/video_top1', float(top1), step)
            writer.add_scalar(f'{subset}/video_top5', float(top5), step)
            writer.add_image(f'{subset}/confusion_matrix',
                             np.asarray(confusion_image(cm, class_names, title).convert('RGB'), np.uint8), step)
            bars = per_class_image(per_class).convert('RGB')
            if bars.height > 4000:  # VisualDL shows big images scaled down; keep the bars readable
                bars = bars.resize((bars.width, 4000), Image.BILINEAR)
            writer.add_image(f'{subset}/per_class_accuracy', np.asarray(bars, np.uint8), step)
            writer.add_text(f'{subset}/per_class', per_class_markdown(per_class), step)
            for c, name in enumerate(class_names):
                if keep.any():
                    add_pr_curve(writer, f'pr_curve/{c:03d} {name}'.replace('%', ' '), labels[keep] == c,
                                 scores[keep, c], step, num_thresholds)
        finally:
            writer.close()
    path = os.path.join(logdir, RECORD_FILE)
    make_normal_mode(path)
    return path


def pr_curve_counts(positive, scores, num_thresholds=51):
    """VisualDL's PR-curve data (its compute_curve: ``num_thresholds`` equal buckets of the score in [0, 1]):
    {'tp', 'fp', 'tn', 'fn', 'precision', 'recall'} lists, threshold i / (num_thresholds - 1) at index i."""
    import numpy as np
    positive = np.asarray(positive, dtype=np.float64)
    buckets = np.floor(np.clip(np.asarray(scores, np.float64), 0, 1) * (num_thresholds - 1)).astype(np.int64)
    tp = np.cumsum(np.bincount(buckets, weights=positive, minlength=num_thresholds)[::-1])[::-1]
    fp = np.cumsum(np.bincount(buckets, weights=1 - positive, minlength=num_thresholds)[::-1])[::-1]
    tn, fn = fp[0] - fp, tp[0] - tp
    return {'tp': tp.astype(int).tolist(), 'fp': fp.astype(int).tolist(), 'tn': tn.astype(int).tolist(),
            'fn': fn.astype(int).tolist(), 'precision': (tp / np.maximum(1e-7, tp + fp)).tolist(),
            'recall': (tp / np.maximum(1e-7, tp + fn)).tolist()}


def add_pr_curve(writer, tag, positive, scores, step, num_thresholds=51):
    """LogWriter.add_pr_curve without its numpy-2 failure (VisualDL 2.5.3's compute_curve uses the removed
    ``np.float``): the same record, counted by pr_curve_counts."""
    import time
    from visualdl.component.base_component import pr_curve_raw
    writer._get_file_writer().add_record(pr_curve_raw(tag=tag, step=step, walltime=round(time.time() * 1000),
                                                      **pr_curve_counts(positive, scores, min(num_thresholds, 127))))


# ----------------------------------------------------------------------------------------------
# The command that shows the records
# ----------------------------------------------------------------------------------------------

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VISUALDL_SERVER = os.path.join(REPO_ROOT, 'scripts', 'visualdl_server.py')


def visualdl_argv(*logdirs, port=None, python=None):
    """The argv that serves ``logdirs`` with VisualDL from any folder and shell: this interpreter (the
    project's venv, where VisualDL is installed) running scripts/visualdl_server.py, with absolute paths.
    That launcher gives every browser locale the page (VisualDL 2.5.3 answers HTTP 500 to a request whose
    Accept-Language is neither English nor Chinese) and names runs by their result folder."""
    argv = [python or sys.executable, VISUALDL_SERVER, '--logdir'] + [os.path.abspath(d) for d in logdirs]
    if port is not None:
        argv += ['--port', str(port)]
    return argv


def visualdl_command(*logdirs, port=None, python=None):
    """visualdl_argv as one shell line, quoted for pasting."""
    return shlex.join(visualdl_argv(*logdirs, port=port, python=python))


def start_visualdl(*logdirs, port=8040, host='0.0.0.0', python=None, timeout=90):
    """Start the VisualDL server of visualdl_argv in the background (a notebook's one cell), wait until it
    answers, print its address; returns the Popen (``.terminate()`` stops it). Folders that do not exist yet
    (test.py not run) are left out."""
    import subprocess
    import time
    import urllib.request
    logdirs = [d for d in logdirs if os.path.isdir(d)]
    if not logdirs:
        raise FileNotFoundError('no VisualDL records to show yet (run main.py first)')
    proc = subprocess.Popen(visualdl_argv(*logdirs, port=port, python=python) + ['--host', host],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    local = f'http://127.0.0.1:{port}'
    deadline = time.time() + timeout
    while True:
        try:
            with urllib.request.urlopen(local + '/alive', timeout=5):
                break
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                proc.terminate()
                raise RuntimeError(f'VisualDL did not start on port {port} (is the port taken?)') from None
            time.sleep(0.3)
    print(f'VisualDL: http://localhost:{port}/app/scalar (curves), /app/image (confusion matrix), '
          f'/app/hyper-parameter (runs compared), /app/pr-curve; runs: '
          + ', '.join(os.path.basename(os.path.dirname(os.path.abspath(d))) for d in logdirs)
          + '; stop it with .terminate()', flush=True)
    return proc
