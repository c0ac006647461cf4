"""opts.py: the reference's defaults, the derived values main.py and test.py use, and option errors."""
import pytest

from opts import parse_opts


def test_cvpr2018_defaults():
    opt = parse_opts([])
    assert (opt.learning_rate, opt.momentum, opt.dampening, opt.weight_decay) == (0.1, 0.9, 0.9, 1e-3)
    assert opt.train_crop == 'corner' and opt.lr_scheduler == 'plateau' and opt.norm_value == 1
    assert opt.mean == pytest.approx([114.7748, 107.7354, 99.4750]) and opt.std == [1.0, 1.0, 1.0]
    assert opt.scales == pytest.approx([1.0, 0.84089641525, 0.70710678, 0.59460356, 0.5])


def test_root_path_prefixes_relative_paths_only():
    opt = parse_opts(['--root_path', '/data', '--video_path', 'UCF101/jpg', '--result_path', '/abs/r'])
    assert opt.video_path == '/data/UCF101/jpg' and opt.result_path == '/abs/r'


def test_value_scale_uses_the_newer_references_statistics():
    opt = parse_opts(['--value_scale', '1', '--mean_dataset', 'kinetics', '--std_norm'])
    assert opt.norm_value == pytest.approx(255)
    assert opt.mean == pytest.approx([0.4345, 0.4051, 0.3775]) and opt.std == pytest.approx([0.2768, 0.2713, 0.2737])
    old = parse_opts(['--norm_value', '255', '--mean_dataset', 'kinetics', '--std_norm'])
    assert old.std == pytest.approx([38.7568578 / 255, 37.88248729 / 255, 40.02898126 / 255])


def test_old_finetune_class_flags():
    opt = parse_opts(['--n_classes', '400', '--n_finetune_classes', '101'])
    assert (opt.n_pretrain_classes, opt.n_classes) == (400, 101)


@pytest.mark.parametrize('argv, fragment', [
    (['--warmup_epochs', '1'], 'warmup'),
    (['--mean_dataset', '0.5'], '--value_scale'),
    (['--train_crop', 'diagonal'], 'invalid choice'),
])
def test_bad_combinations_are_one_line_errors(argv, fragment, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse_opts(argv)
    assert exit_info.value.code == 2
    assert fragment in capsys.readouterr().err
