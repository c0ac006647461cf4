"""Run logs: the reference's TSV files (train.log, train_batch.log, val.log) and VisualDL scalars."""
import contextlib
import csv
import glob
import io
import os
import shutil
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
    from visualdl import LogWriter
    tmp_dir = tempfile.mkdtemp(prefix='.rewrite-', dir=logdir)
    with contextlib.redirect_stdout(io.StringIO()):
        writer = LogWriter(logdir=tmp_dir, file_name=RECORD_FILE)
        for tag, points in kept.items():
            for step in sorted(points):
                value, walltime = points[step]
                writer.add_scalar(tag, value, step, walltime=walltime)
        writer.close()
    make_normal_mode(os.path.join(tmp_dir, RECORD_FILE))
    os.replace(os.path.join(tmp_dir, RECORD_FILE), target)
    shutil.rmtree(tmp_dir, ignore_errors=True)
    for path in paths:
        if path != target:
            os.remove(path)
