"""core/flags.py: the table of numeric flag rules (FLAG_RULES, problems, check_flags) and the output checks
(check_output_folder, check_output_file), without Paddle."""
import argparse
import os

import pytest

from core.errors import BadInput
from core.flags import FLAG_RULES, check_flags, check_output_file, check_output_folder, problems


def parser_of(*flags):
    p = argparse.ArgumentParser(prog='cmd', allow_abbrev=False)
    for flag, kind in flags:
        p.add_argument('--' + flag, type=kind, nargs='+' if kind is list else None)
    return p


@pytest.mark.parametrize('name, good, bad', [
    ('batch_size', 1, 0), ('learning_rate', 1e-9, 0.0), ('momentum', 1.0, 1.5), ('dampening', 0.0, -0.1),
    ('scale_step', 1.0, 0.0), ('n_threads', 0, -1), ('qscale', 31, 32), ('resnet_widen_factor', 0.01, 0),
])
def test_each_rule_accepts_its_bound_and_refuses_past_it(name, good, bad):
    test, text = FLAG_RULES[name]
    assert test(good) and not test(bad), (name, text)
    assert problems(argparse.Namespace(**{name: good})) == []
    assert problems(argparse.Namespace(**{name: bad})) == [f'--{name} {text} (got {bad:g})']


def test_problems_skips_what_is_not_a_number_and_checks_lists():
    args = argparse.Namespace(checkpoint='run/last.pdparams',   # a path in export_model.py: left alone
                              no_val=True,                       # a bool is not a count
                              unknown_flag=-5,                   # no rule
                              multistep_milestones=[50, 0, -1],  # the first bad value of a list is named
                              sample_size=float('nan'))          # not finite
    assert problems(args) == ['--multistep_milestones must be >= 1 (got 0)', '--sample_size must be >= 1 (got nan)']
    assert problems(args, names={'sample_size'}) == ['--sample_size must be >= 1 (got nan)']


def test_check_flags_is_an_argparse_error_naming_every_bad_flag(capsys):
    p = parser_of(('batch_size', int), ('n_epochs', int), ('momentum', float))
    args = p.parse_args(['--batch_size', '4', '--n_epochs', '2', '--momentum', '0.9'])
    assert check_flags(p, args) is args
    with pytest.raises(SystemExit) as info:
        check_flags(p, p.parse_args(['--batch_size', '0', '--n_epochs', '0', '--momentum', '0.9']))
    assert info.value.code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if 'error:' in line]
    assert errors == ['cmd: error: --batch_size must be >= 1 (got 0); --n_epochs must be >= 1 (got 0)']


def test_check_flags_ignores_values_of_flags_the_parser_does_not_have():
    p = parser_of(('batch_size', int))
    args = p.parse_args(['--batch_size', '2'])
    args.n_epochs = 0  # set by the program, not a flag of this command
    assert check_flags(p, args) is args


def test_output_folder(tmp_path):
    assert check_output_folder(str(tmp_path / 'new' / 'deeper'), '--result_path') == str(tmp_path / 'new' / 'deeper')
    assert check_output_folder(str(tmp_path), '--result_path') == str(tmp_path)  # an existing folder
    a_file = tmp_path / 'a_file'
    a_file.write_text('x')
    with pytest.raises(BadInput, match='--result_path is an existing file, not a folder'):
        check_output_folder(str(a_file), '--result_path')
    with pytest.raises(BadInput, match=r'a_file is a file, not a folder; choose another --result_path'):
        check_output_folder(str(a_file / 'under'), '--result_path')


@pytest.mark.skipif(os.geteuid() == 0, reason='root writes into read-only folders')
def test_output_folder_not_writable(tmp_path):
    locked = tmp_path / 'locked'
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(BadInput, match='locked is not writable; choose another --output'):
            check_output_folder(str(locked / 'out'), '--output')
    finally:
        locked.chmod(0o700)


def test_output_file(tmp_path):
    source = tmp_path / 'model.pth'
    source.write_text('weights')
    target = str(tmp_path / 'out' / 'model.pdparams')
    assert check_output_file(target, '--output', inputs=[str(source)], suffixes=('.pdparams',)) == target
    with pytest.raises(BadInput, match=r'--output is one of the inputs \(.*model.pth\)'):
        check_output_file(str(source), '--output', inputs=[str(source)])
    os.symlink(source, tmp_path / 'link.pth')  # the same file under another name
    with pytest.raises(BadInput, match='--output is one of the inputs'):
        check_output_file(str(tmp_path / 'link.pth'), '--output', inputs=[str(source)])
    with pytest.raises(BadInput, match='--output is an existing folder; give a file name'):
        check_output_file(str(tmp_path), '--output')
    notes = tmp_path / 'notes.txt'
    notes.write_text('keep me')
    with pytest.raises(BadInput, match='not a .pdparams file; it is not replaced'):
        check_output_file(str(notes), '--output', suffixes=('.pdparams',))
    assert notes.read_text() == 'keep me'
    old = tmp_path / 'old.PDPARAMS'  # an existing file of the right kind may be replaced (any case)
    old.write_text('old')
    assert check_output_file(str(old), '--output', suffixes=('.pdparams',)) == str(old)
    with pytest.raises(BadInput, match=r'notes.txt \(the folder of --output is an existing file, not a folder'):
        check_output_file(str(notes / 'x.pdparams'), '--output')
