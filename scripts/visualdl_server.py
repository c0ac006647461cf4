"""Serve a run's VisualDL records: a page that opens in every browser, runs named by their result folder.

    python scripts/visualdl_server.py --logdir results/demo/train/vdl results/demo/val/vdl [--port 8040 ...]

The same as ``visualdl --logdir ...`` (every other VisualDL option is passed on), except that:

* the page opens whatever the browser's language: VisualDL 2.5.3 with Werkzeug 3 answers HTTP 500 to a
  request whose Accept-Language is neither English nor Chinese, or absent (curl, scripts, many browsers
  outside China); such a request gets the English page. English and Chinese browsers keep their language,
  and ``--language en|zh`` still forces one;
* a run is named by its result folder (``train``, ``val``; ``demo_a/train`` and ``demo_b/train`` when two
  have the same name), not by the path given (absolute paths made every run a long path). A ``--logdir``
  that holds several runs shows each of the runs found below it at start (restart to see newer ones);
* telemetry (VisualDL posts to paddlepaddle.org.cn by default) is off: ``--disable-telemetry``.

Run it with the interpreter that has VisualDL (the project's .venv/bin/python), from any folder.
"""
import os
import shutil
import signal
import sys
import tempfile

RECORD_PREFIX = 'vdlrecords.'


def serve_any_locale():
    """Give requests that match neither English nor Chinese the English page instead of HTTP 500 (VisualDL's
    serve_static sets the cookie 'vdl_lng' to get_locale(), which is None for them, and Werkzeug 3 refuses a
    None cookie value). Patches Werkzeug's Accept-Language matching in this process only."""
    from werkzeug.datastructures import LanguageAccept
    original = LanguageAccept.best_match
    if getattr(original, 'falls_back_to_first', False):
        return

    def best_match(self, matches, default=None):
        matches = list(matches)
        found = original(self, matches, default)
        return found if found is not None or not matches else matches[0]

    best_match.falls_back_to_first = True
    LanguageAccept.best_match = best_match


def record_folders(logdir):
    """The folders at or below ``logdir`` holding VisualDL records (VisualDL's runs); [logdir] when there are none
    yet (a run that has not written its first epoch: it appears when it does)."""
    if not os.path.isdir(logdir):
        return [logdir]
    runs = [root for root, _, names in os.walk(logdir, followlinks=True)
            if any(n.startswith(RECORD_PREFIX) for n in names)]
    return sorted(runs) or [logdir]


def _result_parts(run):
    parts = [p for p in os.path.abspath(run).split(os.sep) if p]
    if len(parts) > 1 and parts[-1] == 'vdl':  # <result_path>/vdl: the run is its result folder
        parts = parts[:-1]
    return parts or ['root']


def short_names(runs):
    """{run folder: name}: the result folder's name, with as many parent folders as it takes to tell the runs
    apart (no name equal to, or a folder prefix of, another)."""
    parts = [_result_parts(r) for r in runs]
    depth = [1] * len(runs)
    while True:
        names = ['/'.join(p[-d:]) for p, d in zip(parts, depth)]
        clash = {i for i in range(len(names)) for j in range(len(names)) if i != j and
                 (names[i] == names[j] or names[j].startswith(names[i] + '/') or names[i].startswith(names[j] + '/'))}
        grow = [i for i in clash if depth[i] < len(parts[i])]
        if not grow:
            return dict(zip(runs, names))
        for i in grow:
            depth[i] += 1


def split_logdirs(argv):
    """(the --logdir values, the other arguments) of a VisualDL command line."""
    logdirs, rest, i = [], [], 0
    while i < len(argv):
        arg = argv[i]
        if arg == '--logdir':
            i += 1
            while i < len(argv) and not argv[i].startswith('-'):
                logdirs.append(argv[i])
                i += 1
            continue
        if arg.startswith('--logdir='):
            logdirs.append(arg.split('=', 1)[1])
        elif arg == '--model' and i + 1 < len(argv):  # a path: absolute before the change of folder
            rest += [arg, os.path.abspath(argv[i + 1])]
            i += 1
        else:
            rest.append(arg)
        i += 1
    return logdirs, rest


def name_runs(logdirs, folder):
    """Symbolic links <folder>/<short name> -> each run folder; returns the names (VisualDL's run names once it
    runs in ``folder``), or None where links cannot be made (then the paths are passed as given)."""
    runs = []
    for logdir in logdirs:
        for run in record_folders(logdir):
            if os.path.realpath(run) not in [os.path.realpath(r) for r in runs]:
                runs.append(run)
    names = short_names(runs)
    try:
        for run, name in names.items():
            link = os.path.join(folder, name)
            os.makedirs(os.path.dirname(link), exist_ok=True)
            os.symlink(os.path.abspath(run), link, target_is_directory=True)
    except OSError:
        return None
    for run, name in names.items():
        print(f'run {name}: {os.path.abspath(run)}', flush=True)
    return list(names.values())


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if '-h' in argv or '--help' in argv:
        print(__doc__.strip() + '\n\nVisualDL\'s options:', flush=True)
    logdirs, rest = split_logdirs(argv)
    if not any(a in ('-h', '--help', '--version') for a in rest) and not logdirs:
        print('error: give --logdir FOLDER [FOLDER ...] (e.g. results/demo/train/vdl)', file=sys.stderr)
        return 2
    if '--disable-telemetry' not in rest:
        rest.append('--disable-telemetry')
    serve_any_locale()
    from visualdl.server import app
    remove_stale_link_folders()
    folder = tempfile.mkdtemp(prefix=f'{LINKS_PREFIX}{os.getpid()}-')

    def remove_links():
        shutil.rmtree(folder, ignore_errors=True)  # the links only, never what they point to

    def stop(signum, frame):  # remove the links, then end as VisualDL ends on SIGTERM (its threads hold no state)
        remove_links()
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    signal.signal(signal.SIGTERM, stop)
    try:
        names = name_runs(logdirs, folder) if logdirs else None
        if names is not None:
            os.chdir(folder)
            logdirs = names
        sys.argv = ['visualdl'] + (['--logdir'] + logdirs if logdirs else []) + rest
        return app.main()
    finally:
        remove_links()


LINKS_PREFIX = 'visualdl-runs-'


def remove_stale_link_folders():
    """Remove the link folders of launchers that are gone (Ctrl+C ends VisualDL without clean-up: it resets
    SIGINT to the default)."""
    for name in os.listdir(tempfile.gettempdir()):
        pid = name[len(LINKS_PREFIX):].split('-')[0] if name.startswith(LINKS_PREFIX) else ''
        if pid.isdigit() and not os.path.exists(f'/proc/{pid}') and os.path.exists('/proc/self'):
            shutil.rmtree(os.path.join(tempfile.gettempdir(), name), ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
