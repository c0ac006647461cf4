"""engine/compat.py: what this Paddle can do, detected by trying it (.ci/run also runs these on the oldest
supported Paddle, where the answers differ: no dlpack, FLAGS_use_mkldnn, no static graphs)."""
from argparse import Namespace

import numpy as np
import paddle
import pytest

from core.errors import BadInput
from datasets.normalization import input_normalizer
from engine import compat, runtime
from tests.fixtures import train_graph



def test_the_onednn_flag_is_one_this_paddle_reads_and_onednn_switches_it_for_the_block():
    flag = compat.onednn_flag()
    assert flag in ('FLAGS_use_onednn', 'FLAGS_use_mkldnn')
    before = paddle.get_flags([flag])[flag]
    with runtime.onednn():
        assert paddle.get_flags([flag])[flag] is True
    assert paddle.get_flags([flag])[flag] == before


def test_normalisation_never_goes_through_dlpack(monkeypatch):
    """paddle.from_dlpack was seen to block a run forever (Paddle 3.2 / 3.3), and 2.6 has no dlpack: the
    host-side normalisation copies instead, in both layouts, with the same numbers."""
    batch = paddle.to_tensor(np.random.RandomState(0).randint(0, 256, (2, 3, 2, 4, 4)).astype('uint8'))
    opt = Namespace(mean=[100.0, 110.0, 120.0], std=[2.0, 3.0, 4.0], norm_value=1)
    pixels = batch.numpy().astype(np.float32)
    stats = [np.asarray(v, np.float32).reshape(1, 3, 1, 1, 1) for v in (opt.mean, opt.std)]
    expected = (pixels - stats[0]) / stats[1]

    def refuse(*_):
        raise AssertionError('dlpack used')
    monkeypatch.setattr(paddle, 'from_dlpack', refuse, raising=False)  # Paddle 2.6 has none
    monkeypatch.setattr(paddle.utils.dlpack, 'from_dlpack', refuse)
    monkeypatch.setattr(paddle.Tensor, '__dlpack__', refuse, raising=False)
    monkeypatch.setattr(np, 'from_dlpack', refuse)
    np.testing.assert_array_equal(input_normalizer(opt, 'NCDHW')(batch).numpy(), expected)
    np.testing.assert_array_equal(input_normalizer(opt, 'NDHWC')(batch).numpy(), expected.transpose(0, 2, 3, 4, 1))


def test_the_probes_answer_and_agree():
    graph, why = compat.static_graph_support()
    training, training_why = compat.static_training_support()
    assert graph or why.startswith('cannot run on Paddle')
    assert training or training_why.startswith('cannot run on Paddle')
    assert graph or not training  # the training graph needs what the evaluation graph needs
    assert compat.describe()['paddle'] == paddle.__version__


def test_auto_falls_back_to_the_dynamic_graph_where_this_paddle_cannot_trace_and_says_so_once(monkeypatch, capsys):
    why = 'cannot run on Paddle 0.0: its dynamic-to-static fails'
    monkeypatch.setattr(compat, 'static_training_reasons', lambda: [why])
    monkeypatch.setattr(compat, 'static_graph_reasons', lambda: [why])
    monkeypatch.setattr(compat, '_NOTED', set())
    assert not train_graph('auto', 'cpu', 'resnet')
    assert not train_graph('auto', 'cpu', 'resnet')
    assert not runtime.use_static_graph('auto', 'cpu')
    out = capsys.readouterr().out
    assert out.count('--train_graph auto: training in the dynamic graph') == 1 and why in out
    assert out.count('--eval_graph auto: evaluating in the dynamic graph') == 1
    with pytest.raises(BadInput, match='--train_graph dygraph'):
        train_graph('static', 'cpu', 'resnet')
    with pytest.raises(BadInput, match='--eval_graph dygraph'):
        runtime.use_static_graph('static', 'cpu')
    assert not train_graph('dygraph', 'cpu', 'resnet')


def test_static_graphs_are_chosen_where_this_paddle_traces_them(monkeypatch):
    monkeypatch.setattr(compat, 'static_training_reasons', lambda: [])
    monkeypatch.setattr(compat, 'static_graph_reasons', lambda: [])
    assert train_graph('auto', 'cpu', 'resnet')
    assert runtime.use_static_graph('auto', 'cpu')
