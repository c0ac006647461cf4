"""Run logs: the reference's TSV files (train.log, train_batch.log, val.log) and VisualDL scalars."""
import csv
import os


class TSVLogger:
    """A tab-separated log with a header row, as the reference writes; appends when resuming a run."""

    def __init__(self, path, header, resume=False):
        self.header = header
        append = resume and os.path.isfile(path) and os.path.getsize(path) > 0
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
