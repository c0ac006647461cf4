"""benchmarks/profile_step.py at a tiny shape: it runs and its table has every row (a smoke test, no timing)."""
import pytest

pytest.importorskip('torch')
from benchmarks import profile_step  # noqa: E402


def test_profile_table_at_a_tiny_shape(tmp_path):
    tables = profile_step.main(['--shapes', 'tiny', '--rounds', '1', '--warmup', '1', '--steps', '1',
                                '--json', str(tmp_path / 'tables.json')])
    table = tables['tiny']
    names = [row[0] for row in table['rows']]
    first = names.index(profile_step.ROWS[0][0])
    assert [name for name, _ in profile_step.ROWS] == names[first:first + len(profile_step.ROWS)]
    for row in table['rows']:
        assert all(float(cell) >= 0 for cell in row[2:4]), row
    assert (tmp_path / 'tables.json').exists()


def test_op_names_go_to_their_rows():
    row = profile_step.op_row
    assert row('onednn_op.conv3d[3.2 ms]') == 'conv3d forward'
    assert row('onednn_op.conv3d_grad') == row('aten::convolution_backward') == 'conv3d backward-data'
    assert row('aten::native_batch_norm') == row('onednn_op.batch_norm_grad') == 'batch norm forward + backward'
    assert row('pd_op.pool3d_grad') == row('aten::max_pool3d_with_indices') == 'pooling forward + backward'
    assert row('aten::relu_') == row('onednn_op.relu_grad') == 'ReLU forward + backward'
    assert row('something_else') is None
