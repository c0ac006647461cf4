"""PyTorchSGD against PyTorch's documented SGD rule, written out in NumPy; the schedulers' epoch steps."""
import numpy as np
import paddle
import pytest

from opts import parse_opts
from engine.optim import PyTorchSGD, build_scheduler, step_scheduler


def torch_sgd_reference(w0, grads_fn, steps, lr, momentum, dampening, weight_decay, nesterov):
    """torch.optim.SGD.step as its documentation states it, for one parameter array."""
    w, buf = w0.copy(), None
    for _ in range(steps):
        d = grads_fn(w) + weight_decay * w
        buf = d.copy() if buf is None else momentum * buf + (1 - dampening) * d
        w = w - lr * (d + momentum * buf if nesterov else buf)
    return w


def quadratic_grad(target):
    return lambda w: 2.0 * (w - target)


@pytest.mark.parametrize('dampening,nesterov,weight_decay', [(0.9, False, 1e-3), (0.0, False, 1e-3),
                                                              (0.0, True, 1e-2), (0.5, False, 0.0)])
def test_matches_pytorch_rule(dampening, nesterov, weight_decay):
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=(4, 3)).astype('float32')
    target = rng.normal(size=(4, 3)).astype('float32')
    param = paddle.create_parameter([4, 3], 'float32')
    param.set_value(w0)
    opt = PyTorchSGD([param], 0.1, 0.9, dampening, weight_decay, nesterov)
    for _ in range(6):
        loss = ((param - paddle.to_tensor(target)) ** 2).sum()
        loss.backward()
        opt.step()
        opt.clear_grad()
    expected = torch_sgd_reference(w0.astype('float64'), quadratic_grad(target), 6, 0.1, 0.9, dampening,
                                   weight_decay, nesterov)
    np.testing.assert_allclose(param.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_dampening_changes_the_trajectory():
    """Guards the test above: Paddle's plain Momentum (no dampening) must not pass for dampening 0.9."""
    w0, target = np.ones((2,), 'float32'), np.zeros((2,), 'float32')
    param = paddle.create_parameter([2], 'float32')
    param.set_value(w0)
    plain = paddle.optimizer.Momentum(0.1, 0.9, parameters=[param], weight_decay=1e-3)
    for _ in range(4):
        ((param - paddle.to_tensor(target)) ** 2).sum().backward()
        plain.step()
        plain.clear_grad()
    expected = torch_sgd_reference(w0, quadratic_grad(target), 4, 0.1, 0.9, 0.9, 1e-3, False)
    assert np.abs(param.numpy() - expected).max() > 1e-3


def test_zero_lr_group_is_frozen_and_state_round_trips():
    a, b = paddle.create_parameter([3], 'float32'), paddle.create_parameter([3], 'float32')
    a0 = a.numpy().copy()
    opt = PyTorchSGD([{'params': [a], 'learning_rate': 0.0}, {'params': [b]}], 0.1, 0.9, 0.9, 1e-3, False)
    for _ in range(2):
        (a.sum() + (b ** 2).sum()).backward()
        opt.step()
        opt.clear_grad()
    np.testing.assert_array_equal(a.numpy(), a0)
    state = opt.state_dict()
    assert state['n_steps'] == 2
    fresh = PyTorchSGD([{'params': [a], 'learning_rate': 0.0}, {'params': [b]}], 0.1, 0.9, 0.9, 1e-3, False)
    fresh.set_state_dict(state)
    assert fresh.n_steps == 2


def lrs(argv, epochs, val_losses=None):
    opt = parse_opts(argv)
    scheduler = build_scheduler(opt)
    seen = []
    for epoch in range(epochs):
        seen.append(scheduler.last_lr)
        step_scheduler(scheduler, None if val_losses is None else val_losses[epoch])
    return seen


def test_schedules():
    assert lrs(['--lr_scheduler', 'multistep', '--multistep_milestones', '2', '4'], 5) == \
        pytest.approx([0.1, 0.1, 0.01, 0.01, 0.001])
    assert lrs(['--lr_patience', '1'], 5, [1.0] * 5) == pytest.approx([0.1, 0.1, 0.1, 0.01, 0.01])
    cosine = lrs(['--lr_scheduler', 'cosine', '--n_epochs', '4'], 4)
    assert cosine[0] == pytest.approx(0.1) and cosine[2] == pytest.approx(0.05)
    warm = lrs(['--lr_scheduler', 'multistep', '--warmup_epochs', '2', '--multistep_milestones', '3'], 5)
    assert warm[0] < warm[1] < warm[2] == pytest.approx(0.1) and warm[3] == pytest.approx(0.01)
