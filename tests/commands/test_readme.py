"""The README's commands cannot drift from the code: every command of its code blocks (bash blocks, the AI
Studio cells' `!` lines) and every `python ...` in its inline code is extracted and checked:

* the script (or file, or `python -m` module) it names exists, and its flags parse with the script's own parser;
* the paths it reads from an earlier step (--resume_path, --checkpoint, visualdl --logdir, the val.json of
  eval_ucf101.py, ...) are where that step writes them, after --root_path (which also prefixes
  --result_path, as in the reference);
* the cheap ones (--help, --list) run.
"""
import fnmatch
import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys

import pytest

from tests.fixtures import REPO

README = os.path.join(REPO, 'README.md')
AISTUDIO_REPO = '/home/aistudio/3D-ResNets-Paddle'  # the AI Studio cells' %cd into the clone


def logical_lines(block):
    """Lines of a code block with backslash continuations joined."""
    return re.sub(r'\\\n\s*', ' ', block).splitlines()


def readme_commands(text):
    """Shell commands of the README: bash code blocks and the `!` lines of other blocks (notebook cells,
    `%cd` as cd) in order, then inline `python ...` / `visualdl ...` spans. Each is a token list."""
    commands = []
    for lang, block in re.findall(r'```(\w*)\n(.*?)```', text, flags=re.S):
        if lang == 'python':
            continue
        for line in logical_lines(block):
            line = line.strip()
            if lang in ('bash', 'sh'):
                pass
            elif line.startswith('!'):
                line = line[1:]
            elif line.startswith('%cd '):
                line = 'cd ' + line[4:]
            else:
                continue  # printed output, not a command
            for part in line.split('&&'):
                tokens = shlex.split(part, comments=True)
                if tokens:
                    commands.append(tokens)
    for span in re.findall(r'`((?:python|visualdl) [^`]+)`', text):
        commands.append(shlex.split(span))
    return commands


def script_of(tokens):
    """(script, its arguments) of a `python X.py ...` or `python -m paddle.distributed.launch ... X.py ...`
    command, or None."""
    if tokens[0] != 'python':
        return None
    for i, token in enumerate(tokens):
        if token.endswith('.py'):
            return token, tokens[i + 1:]
    return None


def flag(args, name, default=None):
    return args[args.index(name) + 1] if name in args else default


def under_root(args, name, default=None):
    """A path option as main.py/test.py resolve it: --root_path prefixes relative paths."""
    value = flag(args, name, default)
    root = flag(args, '--root_path', '')
    return os.path.normpath(os.path.join(root, value) if root and value and not os.path.isabs(value) else value)


class Outputs:
    """What the README's commands write, in order, and the check that a later command reads from there."""

    def __init__(self):
        self.patterns = []

    def add(self, *paths):
        self.patterns += [os.path.normpath(p) for p in paths]

    def assert_made(self, path, command):
        path = os.path.normpath(path)
        assert any(fnmatch.fnmatch(path, p) for p in self.patterns), \
            f'{path} (read by `{shlex.join(command)}`) is written by no earlier README command; written: {self.patterns}'


def follow(commands):
    """Walk the commands as a user would, from the repository root: the parse checks to run, and every read
    path checked against the earlier commands' outputs."""
    outputs, to_parse, cwd = Outputs(), [], ''
    for tokens in commands:
        if tokens[0] == 'cd':
            target = tokens[1]
            cwd = '' if target in (REPO, AISTUDIO_REPO) else os.path.normpath(os.path.join(cwd, target))
            cwd = '' if cwd == '.' else cwd
            continue
        if tokens[0] == 'visualdl':
            outputs.assert_made(flag(tokens, '--logdir'), tokens)
        if tokens[0] in ('bash', 'pip'):
            path = tokens[1] if tokens[0] == 'bash' else flag(tokens, '-r')
            if path:
                assert os.path.isfile(os.path.join(REPO, path)), f'{path} (README: `{shlex.join(tokens)}`)'
        if tokens[:2] == ['python', '-m'] and not tokens[2].startswith('paddle.'):
            assert importlib.util.find_spec(tokens[2]) is not None, f'{tokens[2]} (README: `{shlex.join(tokens)}`)'
        found = script_of(tokens)
        if found is None:
            continue
        script, args = found
        assert os.path.isfile(os.path.join(REPO, cwd, script)), f'{script} (README: `{shlex.join(tokens)}`)'
        if not any(a in ('...', '…') or a.startswith('<') for a in args) and args[-1:] not in (['--help'], ['--list']):
            to_parse.append((script, args))  # not an abbreviated or placeholder command (nor a cheap one, run)
        name = os.path.basename(script)
        if name == 'main.py':
            for reading in ('--resume_path', '--pretrain_path'):
                if reading in args:
                    outputs.assert_made(under_root(args, reading), tokens)
            result = under_root(args, '--result_path', 'results')
            outputs.add(result, *(os.path.join(result, f) for f in
                                  ('vdl', 'last.pdparams', 'best.pdparams', 'save_*.pdparams')))
        elif name == 'test.py':
            for reading in ('--resume_path', '--pretrain_path'):
                if reading in args:
                    outputs.assert_made(under_root(args, reading), tokens)
            result = under_root(args, '--result_path', 'results')
            outputs.add(*(os.path.join(result, f) for f in ('val.json', 'per_class.csv', 'confusion.png')))
        elif name in ('eval_ucf101.py', 'eval_hmdb51.py', 'eval_kinetics.py'):
            outputs.assert_made(args[1], tokens)
        elif name in ('predict.py', 'export_model.py'):
            for reading in ('--checkpoint', '--inference_model'):
                if reading in args:
                    outputs.assert_made(flag(args, reading), tokens)
            if '--output' in args:
                outputs.add(flag(args, '--output'))
        elif name == 'convert_torch_checkpoint.py' and len(args) > 1 and not args[1].startswith('-'):
            outputs.add(args[1])
    return to_parse


# Runs each script as its command with argparse stopped right after parsing: flags are checked by the real
# parsers (and the two-stage ones of predict.py/export_model.py), nothing else runs.
PARSE_ONLY = r"""
import argparse, json, os, runpy, sys
sys.path.insert(0, os.getcwd())

class Parsed(Exception):
    pass

def parse_args(self, args=None, namespace=None):
    args, extra = self.parse_known_args(args, namespace)
    if extra:
        self.error('unrecognized arguments: ' + ' '.join(extra))
    raise Parsed()

def parse_intermixed_args(self, args=None, namespace=None):
    args, extra = self.parse_known_intermixed_args(args, namespace)
    if extra:
        self.error('unrecognized arguments: ' + ' '.join(extra))
    raise Parsed()

argparse.ArgumentParser.parse_args = parse_args
argparse.ArgumentParser.parse_intermixed_args = parse_intermixed_args
failures = []
for script, args in json.load(sys.stdin):
    sys.argv = [script] + args
    try:
        runpy.run_path(script, run_name='__main__')
        failures.append(f'{script}: ran to the end without parsing its flags')
    except Parsed:
        pass
    except SystemExit as e:
        failures.append(f'{script} {" ".join(args)}: {e}')
print(json.dumps(failures))
"""


@pytest.fixture(scope='module')
def commands():
    with open(README, encoding='utf-8') as f:
        return readme_commands(f.read())


def test_readme_has_the_commands_this_test_checks(commands):
    scripts = {os.path.basename(script_of(c)[0]) for c in commands if script_of(c)}
    assert {'main.py', 'test.py', 'eval_ucf101.py', 'predict.py', 'video_jpg_ucf101_hmdb51.py'} <= scripts
    assert any(c[0] == 'visualdl' for c in commands)
    assert sum(1 for c in commands if script_of(c) and script_of(c)[0] == 'main.py') >= 3  # incl. AI Studio's


def test_readme_scripts_exist_and_read_what_earlier_commands_write(commands):
    follow(commands)


def test_readme_flags_parse_with_the_scripts_parsers(commands):
    to_parse = follow(commands)
    proc = subprocess.run([sys.executable, '-c', PARSE_ONLY], input=json.dumps(to_parse), capture_output=True,
                          text=True, cwd=REPO, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []


def test_readme_cheap_commands_run(commands):
    cheap = [c for c in commands if script_of(c) and c[-1] in ('--help', '--list')]
    assert cheap
    for tokens in cheap:
        proc = subprocess.run([sys.executable, *tokens[1:]], capture_output=True, text=True, cwd=REPO, timeout=300)
        assert proc.returncode == 0 and proc.stdout.strip(), f'`{shlex.join(tokens)}`: {proc.stderr[-2000:]}'


def test_path_follower_catches_an_unprefixed_path():
    """The check itself: --root_path data puts main.py's run in data/results, so results/vdl is wrong."""
    main = shlex.split('python main.py --root_path data --video_path jpg --result_path results')
    follow([main, ['visualdl', '--logdir', 'data/results/vdl']])
    with pytest.raises(AssertionError, match='results/vdl'):
        follow([main, ['visualdl', '--logdir', 'results/vdl']])


def test_readme_modules_exist(commands):
    """`python -m benchmarks...` commands name modules of this repository."""
    modules = [c[2] for c in commands if c[:2] == ['python', '-m']]
    assert {'benchmarks.results', 'benchmarks.parity.harness'} <= set(modules)
    follow([c for c in commands if c[:2] == ['python', '-m']])
