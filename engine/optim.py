"""SGD with PyTorch's semantics (dampening, coupled weight decay) and the learning-rate schedules.

Paddle's Momentum keeps `v = mu * v + g; p -= lr * v` (Nesterov: `p -= lr * (g + mu * v)`), which is
PyTorch's SGD without dampening or weight decay. PyTorch's rule is

    d_t = g_t + wd * p                  (coupled weight decay)
    b_1 = d_1;  b_t = mu * b_{t-1} + (1 - dampening) * d_t
    p  -= lr * b_t                      (Nesterov: lr * (d_t + mu * b_t), dampening 0)

so feeding Momentum the gradient `d_t` for the first step and `(1 - dampening) * d_t` afterwards
reproduces it exactly. The CVPR2018 reference trains with dampening 0.9, which makes every step
after the first about ten times smaller than undampened momentum.
"""
import paddle


class PyTorchSGD:
    """paddle.optimizer.Momentum plus the gradient rewrite above; `step()` counts steps for resume."""

    def __init__(self, parameters, learning_rate, momentum, dampening, weight_decay, nesterov):
        if nesterov and dampening:
            raise ValueError('Nesterov momentum requires dampening 0 (as in PyTorch)')
        parameters = list(parameters)
        # Without dampening the weight decay is Momentum's own (the kernel adds wd * p to the gradient first,
        # PyTorch's order): the same update bit for bit as adding it here, in one op per parameter instead of
        # three (benchmarks/profile_step.py's gradient-rewrite row); with dampening the decayed gradient is
        # scaled, so it is added here.
        fused = bool(weight_decay) and not dampening
        self.inner = paddle.optimizer.Momentum(learning_rate=learning_rate, momentum=momentum,
                                               parameters=parameters, use_nesterov=nesterov,
                                               weight_decay=paddle.regularizer.L2Decay(weight_decay) if fused else None)
        self.dampening = dampening
        self.weight_decay = 0.0 if fused else weight_decay  # what rewrite_gradients adds
        self.n_steps = 0
        self.params = [p for item in parameters
                       for p in (item['params'] if isinstance(item, dict) else [item])]

    @paddle.no_grad()
    def rewrite_gradients(self, grad_scale=1.0):
        """``grad_scale`` first (gradient accumulation: summed losses -> their mean), then PyTorch's rule."""
        if grad_scale != 1.0:
            for p in self.params:
                if p.grad is not None:
                    p.grad.scale_(grad_scale)
        scale = 1.0 if self.n_steps == 0 else 1.0 - self.dampening
        if not self.weight_decay and scale == 1.0:
            return
        for p in self.params:
            if p.grad is None:
                continue
            if self.weight_decay:
                p.grad.add_(p.detach() * self.weight_decay)
            if scale != 1.0:
                p.grad.scale_(scale)

    def step(self, scaler=None, grad_scale=1.0):
        """One update; with an AMP GradScaler the gradients are unscaled before they are rewritten."""
        if scaler is not None:
            scaler.unscale_(self.inner)
        self.rewrite_gradients(grad_scale)
        if scaler is not None:
            scaler.step(self.inner)
            scaler.update()
        else:
            self.inner.step()
        self.n_steps += 1

    def clear_grad(self):
        self.inner.clear_grad()

    def get_lr(self):
        return self.inner.get_lr()

    def state_dict(self):
        return {'momentum': self.inner.state_dict(), 'n_steps': self.n_steps}

    def set_state_dict(self, state):
        momentum = state['momentum']
        schedule = self.inner._learning_rate
        if isinstance(schedule, paddle.optimizer.lr.LRScheduler) and momentum.get('LR_Scheduler'):
            # the schedule through set_scheduler_state (checked, no warning); {}: Momentum leaves it alone
            set_scheduler_state(schedule, momentum['LR_Scheduler'])
            momentum = dict(momentum, LR_Scheduler={})
        self.inner.set_state_dict(momentum)
        self.n_steps = int(state['n_steps'])


def build_scheduler(opt):
    """An epoch-stepped paddle LRScheduler for --lr_scheduler (+ --warmup_epochs)."""
    lr = opt.learning_rate
    if opt.lr_scheduler == 'plateau':  # opts.py refuses --warmup_epochs with it
        return paddle.optimizer.lr.ReduceOnPlateau(lr, mode='min', factor=0.1, patience=opt.lr_patience)
    if opt.lr_scheduler == 'multistep':
        milestones = [m - opt.warmup_epochs for m in opt.multistep_milestones]
        scheduler = paddle.optimizer.lr.MultiStepDecay(lr, milestones=milestones, gamma=0.1)
    else:
        scheduler = paddle.optimizer.lr.CosineAnnealingDecay(lr, T_max=max(1, opt.n_epochs - opt.warmup_epochs))
    if opt.warmup_epochs:
        scheduler = paddle.optimizer.lr.LinearWarmup(scheduler, warmup_steps=opt.warmup_epochs,
                                                     start_lr=lr / (opt.warmup_epochs + 1), end_lr=lr)
    return scheduler


def step_scheduler(scheduler, val_loss):
    """Advance one epoch; the plateau scheduler needs the validation loss (skipped when there is none)."""
    if isinstance(scheduler, paddle.optimizer.lr.ReduceOnPlateau):
        if val_loss is not None:
            scheduler.step(val_loss)
    else:
        scheduler.step()


class ScheduleMismatch(ValueError):
    """A saved schedule state that another schedule wrote (another --lr_scheduler or --warmup_epochs)."""


def _schedule_keys(scheduler):
    scheduler.state_keys()  # Paddle sets scheduler.keys here
    keys = set(scheduler.keys)
    if isinstance(scheduler, paddle.optimizer.lr.LinearWarmup) and \
            isinstance(getattr(scheduler, 'learning_rate', None), paddle.optimizer.lr.LRScheduler):
        keys.add('LinearWarmup_LR')
    return keys


def _describe(scheduler):
    inner = getattr(scheduler, 'learning_rate', None)
    if isinstance(scheduler, paddle.optimizer.lr.LinearWarmup) and isinstance(inner, paddle.optimizer.lr.LRScheduler):
        return f'LinearWarmup over {type(inner).__name__}'
    return type(scheduler).__name__


def set_scheduler_state(scheduler, state):
    """``scheduler.set_state_dict(state)`` without Paddle's "unused values in state_dict" warning on a
    LinearWarmup (--warmup_epochs): its state holds the wrapped schedule's under 'LinearWarmup_LR', which
    LRScheduler.set_state_dict counts as unused before LinearWarmup reads it. Same state either way.
    ScheduleMismatch (naming both schedules) when ``state`` is another schedule's."""
    wanted = _schedule_keys(scheduler)
    if not isinstance(state, dict) or set(state) != wanted:
        raise ScheduleMismatch(f'the flags make a {_describe(scheduler)} schedule (state {sorted(wanted)}), the saved '
                               f'state is another schedule\'s ({sorted(state) if isinstance(state, dict) else state})')
    inner = getattr(scheduler, 'learning_rate', None)
    if isinstance(scheduler, paddle.optimizer.lr.LinearWarmup) and 'LinearWarmup_LR' in state:
        own = {k: v for k, v in state.items() if k != 'LinearWarmup_LR'}
        paddle.optimizer.lr.LRScheduler.set_state_dict(scheduler, own)
        if isinstance(inner, paddle.optimizer.lr.LRScheduler):
            set_scheduler_state(inner, state['LinearWarmup_LR'])
        return
    scheduler.set_state_dict(state)
