"""One exception for every problem the user can fix: a path, a flag value, a file's contents.

Its message names the path or flag and says what to change. Each command's ``main()`` catches
``UserError`` once and exits with ``error: <message>`` (status 1); any other exception is a bug and
keeps its traceback. Subclasses also derive from the built-in type a caller may expect
(``FileNotFoundError``, ``ValueError``), so library code stays usable without this module.
Importable without Paddle.

``run_command`` is that catch: every entry point runs its body through it, so a UserError, an OSError
that names a file (or a full disk), SIGINT and SIGTERM all end with one ``error:`` line on stderr and a
non-zero status (1, or 128 + the signal), and nothing else does.
"""
import errno as _errno
import os as _os
import signal as _signal
import sys as _sys


class UserError(Exception):
    """The user must change something; the message names it and the fix."""


class MissingInput(UserError, FileNotFoundError):
    """A file or folder the options name does not exist."""


class BadInput(UserError, ValueError):
    """An option value or a file's contents that cannot work."""


def preview(items, limit=8):
    """The first `limit` items, comma-separated, and how many more there are."""
    items = list(items)
    more = f', ... (+{len(items) - limit} more)' if len(items) > limit else ''
    return ', '.join(map(str, items[:limit])) + more


def counted_problems(*kinds):
    """'N <what>: a, b, ...' for each (what, items) pair with items: the lists of offending keys that
    checkpoint loading and conversion report."""
    return [f'{len(items)} {what}: {preview(items)}' for what, items in kinds if items]


# ----------------------------------------------------------------------------------------------
# The commands' one exit path: run_command(main_body) in every entry point
# ----------------------------------------------------------------------------------------------

# OSErrors that mean "this output cannot be written here" (read-only, full, a file in the way).
WRITE_ERRNOS = {_errno.ENOSPC, _errno.EROFS, _errno.EDQUOT, _errno.EFBIG, _errno.EISDIR, _errno.ENOTDIR,
                _errno.EEXIST, _errno.EACCES, _errno.EPERM, _errno.ENAMETOOLONG}
SIGNAL_NAMES = {_signal.SIGINT: 'SIGINT', _signal.SIGTERM: 'SIGTERM'}


class Interrupted(KeyboardInterrupt):
    """SIGINT (Ctrl-C) or SIGTERM (a scheduler, a notebook's stop): the command ends with one line saying
    what is kept and how to continue, and status 128 + the signal number. Code that knows more (the
    training loop: the epoch, the checkpoint to resume from) sets ``message`` on the way out."""

    def __init__(self, signum=_signal.SIGINT, message=None):
        super().__init__(signum)
        # Rebuilt from its text by code that re-raises ``type(e)(str(e))`` (Paddle's loader threads): the signal
        # is then the last one received, never a string (128 + 'interrupted (SIGINT)' was a TypeError)
        if not isinstance(signum, int):
            signum = _received[-1] if _received else _signal.SIGINT
        self.signum, self.message = int(signum), message

    def __str__(self):
        return self.message or f'interrupted ({SIGNAL_NAMES.get(self.signum, self.signum)})'


_received = []  # the signals this process received (the last decides the exit status)
_catching = []  # the process that installed the handlers (a forked child inherits them)


def _raise_interrupted(signum, frame):
    if _catching and _catching[-1] != _os.getpid():
        # a child forked before its initializer ran (quiet_worker): as there, Ctrl-C is left to the parent
        # and SIGTERM ends it silently; raising here would print a traceback from multiprocessing's at-fork code
        if signum != _signal.SIGINT:
            _os._exit(128 + signum)
        return
    _received.append(signum)
    raise Interrupted(signum)


def _unraisable(hook_args, default=_sys.unraisablehook):
    """An Interrupted raised where Python cannot propagate it (an at-fork hook while a DataLoader starts its
    workers, a __del__) is not printed: the command reports it at its next check (raise_if_interrupted)
    or when it ends. Neither is the AttributeError of Paddle's multi-process DataLoader iterator when the
    signal stopped its constructor: its __del__ then misses ``_workers_done_event`` (Paddle 3.3), a
    follow-on of the same interruption."""
    if isinstance(hook_args.exc_value, Interrupted):
        return
    if (_received and isinstance(hook_args.exc_value, AttributeError)
            and getattr(hook_args.object, '__qualname__', '') == '_DataLoaderIterMultiProcess.__del__'):
        return
    default(hook_args)


def raise_if_interrupted():
    """Raise Interrupted if a signal arrived whose exception was swallowed (see _unraisable)."""
    if _received:
        raise Interrupted(_received[-1])


def interruption(e):
    """The signal behind exception ``e`` (also an error it caused, e.g. a DataLoader worker that the same
    signal ended), or None."""
    if isinstance(e, Interrupted):
        return e.signum
    if _received:
        return _received[-1]
    return _signal.SIGINT if isinstance(e, KeyboardInterrupt) else None


def catch_signals():
    """SIGINT and SIGTERM raise Interrupted in the main thread (replacing Paddle's C++ handler, whose
    SIGTERM dump is no message for a user)."""
    _catching.append(_os.getpid())
    for signum in SIGNAL_NAMES:
        _signal.signal(signum, _raise_interrupted)
    _sys.unraisablehook = _unraisable


# Before and after run_command: a command that is still importing (Paddle, torch: seconds) or parsing its flags has
# written nothing, and an exception raised inside an import comes out as Paddle's 'ImportError: initialization
# failed' or a traceback; a signal there ends the process at once with one line.
_phase = ['idle']  # 'starting' (catch_signals_early ran), 'running' (inside run_command), 'done', 'reported'


def _exit_at_once(signum, frame):
    if _catching and _catching[-1] != _os.getpid():
        if signum != _signal.SIGINT:
            _os._exit(128 + signum)
        return
    if _phase[-1] != 'reported':
        name = SIGNAL_NAMES.get(signum, signum)
        what = ('after the command had finished; its outputs are complete' if _phase[-1] == 'done'
                else 'while starting; nothing was written')
        try:
            _os.write(2, f'error: interrupted ({name}) {what}\n'.encode())
        except OSError:
            pass
    _end_interrupted(128 + signum)


def catch_signals_early():
    """Install the one-line handlers of a command's start (core.preload.before_paddle calls this first thing
    in every command): SIGINT and SIGTERM end the process with one 'error:' line and 130 / 143 until
    run_command takes over, and again after it (a second signal while a command ends prints nothing more)."""
    _catching.append(_os.getpid())
    if _phase[-1] == 'idle':
        _phase.append('starting')
        import atexit  # registered first, so it runs last of the exit functions
        atexit.register(_hold_signals_at_exit)
    for signum in SIGNAL_NAMES:
        _signal.signal(signum, _exit_at_once)


def _hold_signals_at_exit():
    """The interpreter's last steps put back the default handlers (a signal would then kill the process without
    a line, in whichever thread takes it); a command that has ended keeps its exit status instead (SIG_IGN is
    the one setting Python leaves in place)."""
    if _catching and _catching[-1] == _os.getpid():
        for signum in SIGNAL_NAMES:
            _signal.signal(signum, _signal.SIG_IGN)
        # workers that the same signal ends now are no crash to report (Paddle's SIGCHLD handler would raise)
        _signal.signal(_signal.SIGCHLD, _signal.SIG_DFL)


def reinstall_handlers():
    """Install this process's Python handlers of SIGINT and SIGTERM again at the C level: importing Paddle
    replaces the SIGTERM handler with its own (a 'FatalError' dump)."""
    for signum in SIGNAL_NAMES:
        handler = _signal.getsignal(signum)
        if handler is not None:
            _signal.signal(signum, handler)


def die_with_parent(signum=_signal.SIGKILL):
    """Have the kernel send ``signum`` to this process when its parent dies (Linux' PR_SET_PDEATHSIG; a no-op
    elsewhere), and end now if the parent already died between the fork and this call. The initializer of
    every worker process calls this, so a parent killed by kill -9 or the OOM killer leaves no worker behind."""
    if not _sys.platform.startswith('linux'):
        return
    parent = None
    try:
        import multiprocessing
        process = multiprocessing.parent_process()
        parent = process.pid if process is not None else None
    except (ImportError, AttributeError):
        pass
    _set_death_signal(_libc(), signum, parent)


def _libc():
    try:
        import ctypes
        return ctypes.CDLL(None, use_errno=True)
    except (OSError, ImportError):
        return None


def _set_death_signal(libc, signum, parent):
    if libc is None:
        return
    try:
        libc.prctl(1, int(signum), 0, 0, 0)  # PR_SET_PDEATHSIG = 1
    except AttributeError:
        return
    if (parent is not None and _os.getppid() != parent) or _os.getppid() == 1:
        _os._exit(128 + int(signum))


def child_dies_with_parent(signum=_signal.SIGKILL):
    """A ``preexec_fn`` for subprocess (ffmpeg): the program started is killed when this process dies. None where
    there is no PR_SET_PDEATHSIG (not Linux)."""
    if not _sys.platform.startswith('linux'):
        return None
    libc, parent = _libc(), _os.getpid()  # loaded here: nothing is imported between fork and exec
    return lambda: _set_death_signal(libc, signum, parent)


def quiet_worker(*_):
    """Initializer of worker processes (DataLoader, multiprocessing.Pool): Ctrl-C, which the terminal sends
    to the whole process group, is left to the parent, which stops its workers; SIGTERM ends a worker at
    once and silently (no traceback from a half-written pipe); the parent's death ends it too."""
    _signal.signal(_signal.SIGINT, _signal.SIG_IGN)
    _signal.signal(_signal.SIGTERM, _signal.SIG_DFL)
    die_with_parent()


def describe_os_error(e, output=None):
    """One line for an OSError that reached a command: 'cannot write PATH (reason)' for the write failures
    (a read-only or full disk, a file where a folder belongs), 'PATH: reason' for the others."""
    reason = e.strerror or str(e)
    path = e.filename or output
    if e.errno in WRITE_ERRNOS:
        where = f' {path}' if path else ''
        return f'cannot write{where} ({reason}); free space or choose another output'
    return f'{path}: {reason}' if path else reason


def _failure(e, output):
    """(message, exit status) of an exception that ends a command, None for a bug (keeps its traceback)."""
    signum = interruption(e)
    if signum is not None:
        return str(e) if isinstance(e, Interrupted) else str(Interrupted(signum)), 128 + signum
    if isinstance(e, UserError):
        return str(e), 1
    if isinstance(e, OSError) and (e.filename or e.errno in WRITE_ERRNOS):
        return describe_os_error(e, output), 1
    return None


def run_command(body, *args, output=None, **kwargs):
    """``body(*args, **kwargs)`` as a command: its return value, or one ``error: ...`` line on stderr and a
    non-zero exit for a UserError (status 1), an OSError naming a file or a full disk (1), SIGINT (130) and
    SIGTERM (143). Any other exception is a bug and keeps its traceback. ``output``: the output the command
    writes (named when the system does not say which file failed)."""
    previous = {signum: _signal.getsignal(signum) for signum in SIGNAL_NAMES}
    catch_signals()
    _phase.append('running')
    try:
        result = body(*args, **kwargs)
        _phase.append('done')
        return result
    except BaseException as e:
        failure = _failure(e, output)
        if failure is None:
            raise
        message, status = failure
    finally:
        _release_locks()  # the folders this command locked (core.locks) are free again
        for signum, handler in previous.items():  # a second signal while shutting down: the usual handling
            _signal.signal(signum, handler if handler is not None else _signal.SIG_DFL)
    # The command ends: its workers are stopped on purpose, which Paddle's SIGCHLD handler would report as
    # a crash ("DataLoader process ... killed by signal") while the interpreter joins them.
    _signal.signal(_signal.SIGCHLD, _signal.SIG_DFL)
    _phase.append('reported')
    _sys.stdout.flush()
    if status == 1:
        raise SystemExit(f'error: {message}')  # printed to stderr by the interpreter; callers can read it
    print(f'error: {message}', file=_sys.stderr, flush=True)
    _end_interrupted(status)


def _release_locks():
    locks = _sys.modules.get('core.locks')
    if locks is not None:
        locks.release_all()


def _end_interrupted(status):
    """Stop the worker processes and leave at once: the interpreter's own shutdown would meet loader threads
    stopped mid-batch (Paddle's C++ reader thread aborts the process with 'terminate called ...')."""
    if 'multiprocessing' in _sys.modules:
        children = _sys.modules['multiprocessing'].active_children()
        for child in children:
            child.terminate()
        for child in children:
            child.join(timeout=10)
    _release_locks()
    try:
        _sys.stderr.flush()
    except (OSError, ValueError, RuntimeError):  # a signal that arrived while stderr was being written
        pass
    _os._exit(status)
