"""One run per output folder: a lock that lives exactly as long as the process holding it.

``lock_folder(folder, flag)`` creates ``folder`` if missing and takes an exclusive ``flock`` on
``<folder>/.lock`` (which records the holder's PID and program). A second command into the same
folder gets one line naming that PID and the folder instead of interleaving its logs and checkpoints with
the first one's. The kernel drops the lock when the holder dies, even by ``kill -9`` or the OOM killer, so
a stale lock never blocks anyone; the file itself is removed when the holder ends normally or through
``core.errors.run_command`` (a leftover ``.lock`` of a killed run is simply taken over). Workers forked by the
holder share the lock while they live (their parent's death ends them: ``core.errors.die_with_parent``).

``check_resume_folder(result_path, resume_path)`` is the resume rule of main.py: a run continues in its own
folder or in a new one, never over a different run. Linux and macOS (``fcntl``); elsewhere no lock is taken.
Importable without Paddle.
"""
import atexit
import glob
import os
import sys

try:
    import fcntl
except ImportError:  # Windows: no flock
    fcntl = None

LOCK_NAME = '.lock'
_held = {}  # lock file path -> fd, for this process's life
_created = set()  # lock file paths whose folder the lock created


def _holder(path):
    """'PID n: command' of the process holding the lock file at ``path`` (as far as it wrote it)."""
    try:
        with open(path) as f:
            pid, _, command = f.read().partition('\n')
    except OSError:
        return 'another process'
    pid, command = pid.strip(), command.strip()
    if not pid.isdigit():
        return 'another process'
    return f'PID {pid}' + (f': {command}' if command else '')


def _acquire(path):
    """The fd of ``path`` locked (exclusive), or None when another process holds it. The file may be removed by
    its holder between our open and our flock (release unlinks it first): the lock is then on a file nobody else
    sees, so it is retried on the path's current file."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, 'O_CLOEXEC', 0), 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        try:
            current = os.stat(path)
        except FileNotFoundError:
            current = None
        if current is not None and os.path.samestat(os.fstat(fd), current):
            return fd
        os.close(fd)


def lock_folder(folder, flag):
    """Create ``folder`` (if missing) and hold its lock until this process ends; a UserError naming the holder
    and ``flag`` if another process holds it. Returns the lock file's path (None where there is no flock)."""
    from core.errors import UserError
    created = not os.path.isdir(folder)
    os.makedirs(folder, exist_ok=True)
    if fcntl is None:
        return None
    path = os.path.join(os.path.abspath(folder), LOCK_NAME)
    if path in _held:
        return path
    fd = _acquire(path)
    if fd is None:
        raise UserError(f'{folder} is in use by another command ({_holder(path)}); wait for it to end or choose '
                        f'another {flag}')
    _held[path] = fd
    if created:  # removed again on release if the command wrote nothing: a bad command leaves nothing behind
        _created.add(path)
    record = f'{os.getpid()}\n{os.path.basename(sys.argv[0] or "python")}\n'
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, record.encode('utf-8', 'replace'), 0)
    except OSError:  # a full disk: the lock holds all the same, its holder is just not named
        pass
    return path


def release_all():
    """Release every lock of this process and remove the lock files (before the fds close, so a process that
    opened the old file retries on a new one). Also done at exit and by core.errors when a command ends."""
    while _held:
        path, fd = _held.popitem()
        try:
            os.unlink(path)
        except OSError:
            pass
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)  # also for the workers sharing this open file
        finally:
            os.close(fd)
    while _created:
        try:
            os.rmdir(os.path.dirname(_created.pop()))  # only if empty
        except OSError:
            pass


atexit.register(release_all)


def run_checkpoints(folder):
    """The checkpoints of main.py in ``folder`` (last.pdparams first, then save_*.pdparams)."""
    last = os.path.join(folder, 'last.pdparams')
    return ([last] if os.path.exists(last) else []) + sorted(glob.glob(os.path.join(folder, 'save_*.pdparams')))


def _same_folder(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def check_resume_folder(result_path, resume_path):
    """A resumed run writes into its own run folder (the folder of ``resume_path``) or into a new one: a
    ``result_path`` that holds another run's checkpoints is refused, naming both folders."""
    if not resume_path:
        return
    source = os.path.dirname(os.path.abspath(resume_path))
    if not os.path.isdir(result_path) or _same_folder(source, result_path):
        return
    others = run_checkpoints(result_path)
    if others:
        from core.errors import UserError
        raise UserError(f'--result_path {result_path} holds another run ({os.path.basename(others[0])}) than '
                        f'--resume_path {resume_path} (run folder {source}); continue it with --result_path {source}, '
                        'or give a new --result_path')
