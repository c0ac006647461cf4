"""Atomic file writes with the permissions of a normal file: the one helper every writer of the project uses.

A file is written to a temporary name in its own folder, flushed and fsync'ed, given the mode that
``open(path, 'w')`` would have given it under the current umask (0644 under umask 022), then renamed over
``path``: a kill at any moment leaves the old file or the new one, never half of one. ``tempfile.mkstemp``
alone creates 0600 files (whatever the umask) and a rename keeps that mode, so teammates on a shared server
could not read the checkpoints and JSON files. No Paddle here.
"""
import contextlib
import json
import os
import tempfile


def current_umask():
    """The process's umask, read without changing it where Linux shows it (/proc/self/status; setting and
    restoring it with os.umask could let a file created meanwhile by another thread get mode 0666)."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('Umask:'):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def normal_file_mode():
    """The mode of a new file made by open(path, 'w') now: 0o666 without the umask's bits."""
    return 0o666 & ~current_umask()


def make_normal_mode(path):
    """Give the (new, own) file at ``path`` the mode a normal file gets under the current umask."""
    os.chmod(path, normal_file_mode())


@contextlib.contextmanager
def atomic_path(path, suffix='.tmp'):
    """Yield a temporary path next to ``path`` to write (paddle.save, PIL, ...); on success fsync it, give it a
    normal file's mode and rename it over ``path``; on any error remove it and leave ``path`` as it was."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix='.' + os.path.basename(path) + '.', suffix=suffix, dir=directory)
    os.close(fd)
    try:
        yield tmp
        with open(tmp, 'rb') as f:
            os.fsync(f.fileno())
        make_normal_mode(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.lexists(tmp):
            os.remove(tmp)
        raise


@contextlib.contextmanager
def atomic_open(path, mode='w', **kwargs):
    """``open`` for writing, atomically: the file object of a temporary file that replaces ``path`` when the
    block ends without an error (``mode``: 'w', 'wb', 'wt'; ``kwargs`` go to open, e.g. newline='')."""
    if not mode.startswith('w'):
        raise ValueError(f'atomic_open writes a new file: mode must start with "w", got {mode!r}')
    with atomic_path(path) as tmp:
        with open(tmp, mode, **kwargs) as f:
            yield f
            f.flush()


def write_text_atomic(path, text):
    with atomic_open(path, 'w') as f:
        f.write(text)


def write_json_atomic(obj, path, indent=1, **kwargs):
    """json.dump ``obj`` to ``path`` atomically (``indent`` None: one line)."""
    with atomic_open(path, 'w') as f:
        json.dump(obj, f, indent=indent, **kwargs)
