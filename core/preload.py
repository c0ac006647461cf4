"""What Paddle reads once, when it loads or first computes: set by every command at its top, before Paddle.

``before_paddle()`` is the call (main.py, test.py, scripts/predict.py, ...; a notebook gets it by importing
``main`` before anything computes):

* MKL's fast code path on non-Intel CPUs (``MKL_DEBUG_CPU_TYPE=5``, engine/runtime.py explains): MKL reads it
  at its first call, so set later (engine.runtime.configure_cpu) it is ignored in a process that already
  computed, and an in-process run would not give the command line's numbers.
* Paddle's known noise, hidden unless --verbose is given (``quiet_paddle``): UserWarnings ('No ccache found'
  at import, 'When training, we now always track global mean and variance' from BatchNorm forwards) and
  glog lines ('New Executor is Running', 'oneDNN v3.6.2', 'not support input out tensor for now!!!!!'). A
  user who learns to skip them misses the line that matters.

glog reads GLOG_minloglevel once, when Paddle's C++ core loads; in a process that has already imported
Paddle (a notebook kernel) only the Python warnings can still be switched. Both settings also travel
through the environment (GLOG_minloglevel, PYTHONWARNINGS), so worker and launched processes that start a
new interpreter are as quiet as their parent. Paddle itself inserts an 'always' filter for every warning
while it imports, so commands call ``quiet_paddle`` again after importing it (their main()).
Importable without Paddle.
"""
import os
import re
import sys
import warnings

# Starts of the UserWarning messages hidden.
KNOWN_WARNINGS = ('No ccache found', 'When training, we now always track global mean and variance')
# glog: 2 keeps ERROR and FATAL, hides INFO and WARNING.
GLOG_LEVEL = '2'
# PYTHONWARNINGS splits its entries at commas, so a message start is cut at its first comma there.
_ENV_WARNINGS = [f"ignore:{start.split(',')[0]}:UserWarning" for start in KNOWN_WARNINGS]
_set_by_us = {}  # name -> (value before quiet_paddle set it, the value it set)


def before_paddle(verbose=None, command=None):
    """MKL's fast path and quiet_paddle(verbose); call before the first ``import paddle``. In a command
    (``command`` None: the caller is the script Python runs, ``__main__``, and not a benchmark, whose runs do
    not go through core.errors.run_command) also the signal handling of its start (``catch_signals_at_start``);
    a module imported by a notebook or a test keeps the process's handlers."""
    if command is None:
        caller = sys._getframe(1).f_globals
        command = (caller.get('__name__') == '__main__'
                   and f'{os.sep}benchmarks{os.sep}' not in os.path.abspath(caller.get('__file__') or ''))
    if command:
        catch_signals_at_start()
    os.environ.setdefault('MKL_DEBUG_CPU_TYPE', '5')  # a user's own setting wins, as in configure_cpu
    return quiet_paddle(verbose)


# ----------------------------------------------------------------------------------------------
# Signals while a command starts
# ----------------------------------------------------------------------------------------------

def catch_signals_at_start():
    """SIGINT and SIGTERM end the command with one line and 130 / 143 from its first statement on
    (core.errors.catch_signals_early), and Paddle's import, which installs its own C++ SIGTERM handler (a
    'FatalError' dump, no line) and turns an exception raised inside it into 'ImportError: initialization
    failed', runs with both signals held back: they are handled by the command's handler right after it. So does
    numpy's (and torch's): the threads their math libraries start while they import (OpenBLAS) inherit the held-back
    signals, so none of them can take a signal meant for the command while Paddle's handler is in place."""
    from core.errors import catch_signals_early
    catch_signals_early()
    if not any(isinstance(finder, _ImportGuard) for finder in sys.meta_path):
        sys.meta_path.insert(0, _ImportGuard())


class _ImportGuard:
    """A meta path finder for the top-level ``paddle``, ``numpy`` and ``torch`` packages only: their loaders run
    with SIGINT and SIGTERM blocked (in this thread and every thread started meanwhile) and install the command's
    handlers again before unblocking them (a signal received meanwhile is delivered then)."""
    names = ('numpy', 'paddle', 'torch')

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self.names or not hasattr(__import__('signal'), 'pthread_sigmask'):
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, 'find_spec'):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, 'exec_module'):
                    spec.loader = _GuardedLoader(spec.loader)
                return spec
        return None


class _GuardedLoader:
    def __init__(self, loader):
        self.loader = loader

    def __getattr__(self, name):
        return getattr(self.loader, name)

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        import signal
        from core.errors import SIGNAL_NAMES, reinstall_handlers
        signals = set(SIGNAL_NAMES)
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, signals)
        try:
            self.loader.exec_module(module)
        finally:
            reinstall_handlers()
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


def quiet_paddle(verbose=None):
    """Hide Paddle's known warnings and glog chatter (``verbose`` False), or bring them back (True).
    ``verbose`` None: True if '--verbose' is among this process's arguments. Returns whether it is quiet."""
    if verbose is None:
        verbose = '--verbose' in sys.argv[1:]
    for start in KNOWN_WARNINGS:  # in front of the filters, replacing the other setting's entry
        warnings.filterwarnings('default' if verbose else 'ignore', message=re.escape(start), category=UserWarning)
    if verbose:
        for name, (before, ours) in _set_by_us.items():
            if os.environ.get(name) != ours:
                continue  # changed by someone else since: theirs now
            if before is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = before
        _set_by_us.clear()
        return False
    if 'GLOG_minloglevel' not in os.environ:
        _set_env('GLOG_minloglevel', GLOG_LEVEL)
    entries = [e for e in os.environ.get('PYTHONWARNINGS', '').split(',') if e]
    missing = [e for e in _ENV_WARNINGS if e not in entries]
    if missing:
        _set_env('PYTHONWARNINGS', ','.join(entries + missing))
    return True


# The one warning Paddle prints while it imports, whatever the code does next: nothing to act on for a user (it
# concerns compiling C++ extensions), and it is the first thing a notebook shows after `from models.builder import`.
IMPORT_WARNINGS = ('No ccache found',)


def hide_import_noise():
    """Hide IMPORT_WARNINGS (and only them) from now on in this process: called where the project's packages
    start (before anything imports Paddle), so ``import models`` / ``from models.builder import ...`` in a
    notebook or a script print nothing. Commands still call before_paddle/quiet_paddle (--verbose shows them)."""
    if '--verbose' in sys.argv[1:]:
        return
    for start in IMPORT_WARNINGS:
        warnings.filterwarnings('ignore', message=re.escape(start), category=UserWarning)


def _set_env(name, value):
    current = os.environ.get(name)
    recorded = _set_by_us.get(name)
    # still our value: the one before it stays the one to restore; else it is what was set since
    _set_by_us[name] = (recorded[0] if recorded and recorded[1] == current else current, value)
    os.environ[name] = value

