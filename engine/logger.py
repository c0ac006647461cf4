"""Run logs: the reference's TSV files (train.log, train_batch.log, val.log) and VisualDL scalars."""
import csv
import os


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
    tmp = path + '.tmp'
    with open(tmp, 'w', newline='') as f:
        csv.writer(f, delimiter='\t').writerows(keep)
    os.replace(tmp, path)


def _format(value):
    return f'{value:.6g}' if isinstance(value, float) else value


class ScalarWriter:
    """VisualDL scalars under <result_path>/vdl; a no-op when disabled (other ranks, --no_vdl)."""

    def __init__(self, logdir, enabled=True):
        self.writer = None
        if enabled:
            from visualdl import LogWriter  # imported lazily: VisualDL pulls in Flask, pandas and matplotlib
            self.writer = LogWriter(logdir=logdir)

    def add(self, prefix, metrics, step):
        if self.writer is None:
            return
        for name, value in metrics.items():
            self.writer.add_scalar(f'{prefix}/{name}', float(value), step)

    def close(self):
        if self.writer is not None:
            self.writer.close()
