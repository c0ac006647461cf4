"""engine/logger.py: the TSV logs (TSVLogger: header, resume, keep_before) and the VisualDL scalars
(ScalarWriter: one record file per run folder, continued across resumes) in a temporary folder."""
import os

import pytest

from engine.logger import RECORD_FILE, ScalarWriter, TSVLogger, drop_epochs_from, read_scalars
from tests.fixtures import read_tsv


def write_log(path, epochs, resume=False, keep_before=None):
    log = TSVLogger(str(path), ['epoch', 'loss', 'acc'], resume=resume, keep_before=keep_before)
    for epoch in epochs:
        log.log({'epoch': epoch, 'loss': 1.0 / epoch, 'acc': 0.25 * epoch, 'ignored': 'x'})
    log.close()


def test_header_then_rows_with_six_significant_digits(tmp_path):
    path = tmp_path / 'train.log'
    write_log(path, [1, 2, 3])
    assert path.read_text().splitlines() == ['epoch\tloss\tacc', '1\t1\t0.25', '2\t0.5\t0.5', '3\t0.333333\t0.75']


def test_a_new_run_starts_the_log_afresh(tmp_path):
    path = tmp_path / 'train.log'
    write_log(path, [1, 2, 3])
    write_log(path, [1])  # resume=False: the old rows go
    assert [row['epoch'] for row in read_tsv(path)] == ['1']


def test_resume_appends_after_dropping_the_epochs_trained_again(tmp_path):
    path = tmp_path / 'train.log'
    write_log(path, [1, 2, 3])
    write_log(path, [3, 4], resume=True, keep_before=3)  # resumed from epoch 2's checkpoint
    assert [row['epoch'] for row in read_tsv(path)] == ['1', '2', '3', '4']
    assert path.read_text().count('epoch\t') == 1  # one header
    write_log(path, [5], resume=True)  # keep_before None: every row is kept
    assert [row['epoch'] for row in read_tsv(path)] == ['1', '2', '3', '4', '5']


def test_resume_of_a_missing_or_empty_log_writes_the_header(tmp_path):
    write_log(tmp_path / 'missing.log', [2], resume=True, keep_before=2)
    (tmp_path / 'empty.log').write_text('')
    write_log(tmp_path / 'empty.log', [2], resume=True, keep_before=2)
    for name in ('missing.log', 'empty.log'):
        assert (tmp_path / name).read_text().splitlines() == ['epoch\tloss\tacc', '2\t0.5\t0.5']


def test_drop_epochs_from_removes_a_half_written_row(tmp_path):
    path = tmp_path / 'train_batch.log'
    path.write_text('epoch\tbatch\tloss\n1\t1\t0.9\n1\t2\t0.8\n2\t1\t0.7\n2\t2')  # killed mid-write
    drop_epochs_from(str(path), 2)
    assert path.read_text().splitlines() == ['epoch\tbatch\tloss', '1\t1\t0.9', '1\t2\t0.8']
    drop_epochs_from(str(path), 5)  # nothing to drop: unchanged
    assert path.read_text().splitlines() == ['epoch\tbatch\tloss', '1\t1\t0.9', '1\t2\t0.8']
    other = tmp_path / 'no_epoch.log'
    other.write_text('step\tloss\n1\t0.5\n')
    drop_epochs_from(str(other), 1)  # no epoch column: left alone
    assert other.read_text() == 'step\tloss\n1\t0.5\n'


def scalars(logdir, tag):
    files = sorted(os.listdir(logdir))
    assert files == [RECORD_FILE], files
    return {step: value for step, (value, _) in read_scalars(os.path.join(logdir, RECORD_FILE))[tag].items()}


def write_epochs(logdir, epochs, keep_before=None):
    writer = ScalarWriter(str(logdir), keep_before=keep_before)
    for epoch in epochs:
        writer.add('train', {'loss': 1.0 / epoch, 'acc': 0.25 * epoch}, epoch)
    writer.close()


def test_scalar_writer_continues_one_record_file_across_resumes(tmp_path):
    pytest.importorskip('visualdl')
    logdir = tmp_path / 'vdl'
    write_epochs(logdir, [1, 2, 3])
    assert scalars(logdir, 'train/loss') == pytest.approx({1: 1.0, 2: 0.5, 3: 1 / 3})
    write_epochs(logdir, [3, 4], keep_before=3)  # resumed from epoch 2: epoch 3's old point goes
    assert scalars(logdir, 'train/loss') == pytest.approx({1: 1.0, 2: 0.5, 3: 1 / 3, 4: 0.25})
    assert scalars(logdir, 'train/acc') == pytest.approx({1: 0.25, 2: 0.5, 3: 0.75, 4: 1.0})
    write_epochs(logdir, [1])  # a new run (keep_before None) starts the records afresh
    assert scalars(logdir, 'train/loss') == pytest.approx({1: 1.0})


def test_disabled_scalar_writer_writes_nothing(tmp_path):
    writer = ScalarWriter(str(tmp_path / 'vdl'), enabled=False)
    writer.add('train', {'loss': 1.0}, 1)
    writer.close()
    assert not (tmp_path / 'vdl').exists()
