"""Progress: a tqdm bar on a terminal, plain lines elsewhere (a log file, a pipe, a notebook's ``!python``).

tqdm redraws its bar with carriage returns; written to a file they leave every redraw behind as a fragment
(``\\r 10%|#  | 1/10 ...\\r 20%|...``). ``progress(...)`` draws the bar only when its stream is a terminal and
``no_tqdm`` is not set; otherwise it prints one plain line every ``every`` of the total (10 %: at most about
eleven lines) and at the end::

    n_frames: 3/6 class (1 s)

Same use as tqdm: iterate over it, or ``update(n)`` / ``write(text)`` / ``close()`` (or a ``with`` block).
No Paddle here.
"""
import sys
import time


def is_terminal(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def progress(iterable=None, total=None, desc='', unit='it', no_tqdm=False, disable=False, file=None, every=0.1,
             **tqdm_kwargs):
    """A tqdm bar (on a terminal, without ``no_tqdm``) or PlainProgress lines; nothing with ``disable``.
    ``file``: the stream (default stderr, as tqdm's)."""
    file = sys.stderr if file is None else file
    if total is None and iterable is not None and hasattr(iterable, '__len__'):
        total = len(iterable)
    if not no_tqdm and not disable and is_terminal(file):
        from tqdm import tqdm
        return tqdm(iterable, total=total, desc=desc or None, unit=unit, file=file, dynamic_ncols=True,
                    **tqdm_kwargs)
    return PlainProgress(iterable, total=total, desc=desc, unit=unit, file=file, every=every, disable=disable)


class PlainProgress:
    """tqdm's interface, printing ``<desc>: <n>/<total> <unit> (<seconds> s)`` lines: when the count passes each
    ``every`` fraction of ``total`` and at close (without a total: every ``1 / every`` items)."""

    def __init__(self, iterable=None, total=None, desc='', unit='it', file=None, every=0.1, disable=False):
        self.iterable, self.total, self.desc, self.unit = iterable, total, desc, unit
        self.file = sys.stderr if file is None else file
        self.disable = disable
        self.n = 0
        self.start = time.time()
        self.step = max(1, int(round(total * every))) if total else max(1, int(round(1 / every)))
        self.next_line = self.step
        self.printed_at = None

    def __iter__(self):
        try:
            for item in self.iterable:
                yield item
                self.update(1)
        finally:
            self.close()

    def __len__(self):
        return self.total if self.total is not None else len(self.iterable)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def update(self, n=1):
        self.n += n
        if self.n >= self.next_line or (self.total and self.n >= self.total):
            self._line()
            while self.next_line <= self.n:
                self.next_line += self.step

    def write(self, text, file=None, end='\n'):
        """Print a message (also when disabled, as tqdm.write: messages are not progress)."""
        print(text, file=file or self.file, end=end, flush=True)

    def set_postfix(self, *args, **kwargs):  # tqdm's; plain lines show counts only
        pass

    def set_description(self, desc=None, refresh=True):
        self.desc = desc or ''

    def close(self):
        if self.printed_at != self.n and self.n and (self.total is None or self.n >= self.total):
            self._line()

    def _line(self):
        if self.disable or self.printed_at == self.n:
            return
        self.printed_at = self.n
        count = f'{self.n}/{self.total}' if self.total else str(self.n)
        prefix = f'{self.desc}: ' if self.desc else ''
        print(f'{prefix}{count} {self.unit} ({time.time() - self.start:.0f} s)', file=self.file, flush=True)
