"""engine.checkpoint's file writing: a checkpoint's second name (best.pdparams, save_N.pdparams) is the
same file, and the next save of last.pdparams leaves it alone."""
import os

import numpy as np
import paddle

from engine.checkpoint import link_checkpoint, load_checkpoint, save_checkpoint


def _state(value):
    return {'epoch': value, 'state_dict': {'w': paddle.full([3], float(value))}}


def _saved_value(path):
    return float(np.asarray(load_checkpoint(path)['state_dict']['w'])[0])


def test_linked_checkpoint_survives_the_next_save(tmp_path):
    last, best = str(tmp_path / 'last.pdparams'), str(tmp_path / 'best.pdparams')
    save_checkpoint(_state(1), last)
    link_checkpoint(last, best)
    link_checkpoint(last, best)  # again: the same file under both names, no stray temporary left
    with open(last, 'rb') as a, open(best, 'rb') as b:
        assert a.read() == b.read()
    save_checkpoint(_state(2), last)
    assert (_saved_value(last), _saved_value(best)) == (2.0, 1.0)
    link_checkpoint(last, best)
    assert _saved_value(best) == 2.0
    assert sorted(os.listdir(str(tmp_path))) == ['best.pdparams', 'last.pdparams']


def test_copy_where_links_fail(tmp_path, monkeypatch):
    def no_links(src, dst):
        raise PermissionError('no hard links here')

    monkeypatch.setattr(os, 'link', no_links)
    last, kept = str(tmp_path / 'last.pdparams'), str(tmp_path / 'save_1.pdparams')
    save_checkpoint(_state(1), last)
    link_checkpoint(last, kept)
    save_checkpoint(_state(2), last)
    assert (_saved_value(last), _saved_value(kept)) == (2.0, 1.0)
    assert sorted(os.listdir(str(tmp_path))) == ['last.pdparams', 'save_1.pdparams']
