"""main.py's training run in pieces, each usable and testable alone (torchvision's reference shape).

    set_up(config)                       device, CPU threads, ranks, seed
    resumed_checkpoint(config)           --resume_path / --pretrain_path and the Config with their model
    pretrained_checkpoint(config)          options merged in (engine.checkpoint.with_model_options)
    build_data(config, setup)            datasets and loaders (refusing to overwrite a finished run)
    build_state(config, setup, ...)      model with its weights, optimizer, schedule, training step, first epoch
    train_one_epoch(...) / validate(...) one pass over explicit objects, returning a metrics dict
    fit(state, data, config, setup)      the epoch loop: train, validate, step the schedule, save

Loader items are (uint8 clips, targets, sample indices, ok flags, error messages) (datasets.safe_clips);
clips are normalised here (datasets.input_normalizer) and a clip that failed to load in a worker stops the
run with its real message.
"""
import glob
import json
import math
import os
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
import paddle
import paddle.distributed as dist
import paddle.nn.functional as F
from tqdm import tqdm

import datasets
import models
from datasets.safe_clips import SafeClips, clip_shape
from engine.checkpoint import (check_class_names, checkpoint_state_dict, classifier_classes, link_checkpoint,
                               load_checkpoint, load_weights, save_checkpoint, with_model_options)
from core.errors import BadInput, Interrupted, UserError, interruption, quiet_worker, raise_if_interrupted
from core.progress import is_terminal
from engine.logger import FINAL_METRIC_TAGS, ScalarWriter, TSVLogger, hparams_of
from engine.optim import PyTorchSGD, ScheduleMismatch, build_scheduler, set_scheduler_state, step_scheduler
from engine.runtime import compile_predict, cpu_cores, describe, select_device, use_static_graph
from engine.static_training import StaticTrainStep
from engine.steps import make_train_step


# ----------------------------------------------------------------------------------------------
# Set-up
# ----------------------------------------------------------------------------------------------

@dataclass
class Setup:
    """Where the run happens."""
    rank: int
    world_size: int
    device: str
    cpu_threads: Optional[int]
    show_progress: bool

    @property
    def is_main(self):
        return self.rank == 0


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed % 2 ** 32)
    paddle.seed(seed)


def set_up(config):
    """Device and math threads (processes on one machine share its cores), ranks, the seed."""
    rank, world_size = dist.get_rank(), dist.get_world_size()
    run = config.run
    device, cpu_threads = select_device(run.device, run.cpu_threads or max(1, cpu_cores() // world_size))
    if config.train.batchnorm_sync and (device != 'gpu' or world_size < 2):
        # Paddle has no CPU kernel of sync_batch_norm, and one process's BatchNorm already sees its whole batch
        raise UserError(f'--batchnorm_sync needs several GPU processes (this run: {world_size} on the {device}); '
                        'run: python -m paddle.distributed.launch --gpus 0,1,2,3 main.py ... --batchnorm_sync, '
                        'or drop --batchnorm_sync')
    seed_everything(config.train.manual_seed)
    return Setup(rank, world_size, device, cpu_threads, show_progress=rank == 0 and not run.no_tqdm)


def resumed_checkpoint(config):
    """(the --resume_path checkpoint or None, the Config with its model options for every model flag not
    typed), so a resumed run needs none of them repeated."""
    path = config.train.resume_path
    if not path:
        return None, config
    checkpoint = load_checkpoint(path)
    config, _ = with_model_options(config, checkpoint, checkpoint_state_dict(checkpoint, path), path)
    return checkpoint, config


# ----------------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------------

class ShardSampler(paddle.io.Sampler):
    """Indices rank, rank + world, ... : every sample on exactly one rank, none repeated (no padding)."""

    def __init__(self, n_samples, rank, world_size):
        self.indices = list(range(rank, n_samples, world_size))

    def __iter__(self):
        return iter(self.indices)

    def __len__(self):
        return len(self.indices)


def build_loader(dataset, data, batch_size, train, rank, world_size):
    """A DataLoader of SafeClips items (clip, target, index, ok, message) over ``dataset``, ``batch_size`` clips
    per batch on this rank."""
    dataset = SafeClips(dataset, clip_shape(data))
    if train and world_size > 1:
        sampler = paddle.io.DistributedBatchSampler(dataset, batch_size, shuffle=True)
    elif train:
        sampler = paddle.io.BatchSampler(dataset, batch_size=batch_size, shuffle=True)
    else:
        sampler = paddle.io.BatchSampler(sampler=ShardSampler(len(dataset), rank, world_size),
                                         batch_size=batch_size)
    # Workers are seeded from numpy's global stream, which each epoch reseeds (see fit).
    return paddle.io.DataLoader(dataset, batch_sampler=sampler, num_workers=data.n_threads,
                                worker_init_fn=quiet_worker)


@dataclass
class Data:
    class_names: Optional[list]
    train_loader: Any = None
    val_loader: Any = None


def refuse_to_overwrite(result_path, train):
    """A folder holding a checkpoint holds a run; one without (a failed or interrupted start) holds nothing
    to protect, so the corrected command may use it."""
    last = os.path.join(result_path, 'last.pdparams')
    saved = sorted(glob.glob(os.path.join(result_path, 'save_*.pdparams')), key=_saved_epoch)
    previous = ([last] if os.path.exists(last) else []) + saved[::-1]  # the newest checkpoint first
    if previous and not train.resume_path and not train.no_train:
        raise UserError(f'{result_path} already holds a run ({os.path.basename(previous[0])}); continue it '
                        f'with --resume_path {os.path.abspath(previous[0])} or choose another --result_path')


def _saved_epoch(path):
    digits = os.path.basename(path)[len('save_'):-len('.pdparams')]
    return int(digits) if digits.isdigit() else -1


def build_data(config, setup):
    """The training and validation loaders (None where --no_train / --no_val) and the class names."""
    data, train = config.data, config.train
    refuse_to_overwrite(config.run.result_path, train)
    train_set = None if train.no_train else datasets.get_training_set(data)
    val_set = None if train.no_val else datasets.get_validation_set(data)
    if train.inference and not train.no_train:
        check_inference_subset(data, train_set, val_set)
    class_names = (train_set or val_set).class_names if (train_set or val_set) else None
    if class_names is not None and len(class_names) != config.model.n_classes:
        raise UserError(f'{data.annotation_path} lists {len(class_names)} labels but --n_classes is '
                        f'{config.model.n_classes}; pass --n_classes {len(class_names)}')
    # --batch_size is the global batch of one update, as the reference; --accumulate_steps splits it
    batch_size = max(1, train.batch_size // setup.world_size // train.accumulate_steps)
    return Data(class_names,
                train_set and build_loader(train_set, data, batch_size, True, setup.rank, setup.world_size),
                val_set and build_loader(val_set, data, batch_size, False, setup.rank, setup.world_size))


def check_inference_subset(data, *built):
    """--inference after training: its subset (--inference_subset) must have usable videos, checked before
    the first epoch rather than after the last (the datasets already built need no second look)."""
    if any(dataset is not None and dataset.subset == datasets.subset_name(data.test_subset) for dataset in built):
        return
    datasets.get_test_set(data)  # the errors of a subset without videos, named now


def write_options(result_path, options, resumed=False):
    """opts.json (opts_resume_<time>.json when resuming) in ``result_path``, created here: only once the
    input is known to be usable, so a bad command leaves nothing behind."""
    os.makedirs(result_path, exist_ok=True)
    name = f'opts_resume_{time.strftime("%Y%m%d-%H%M%S")}.json' if resumed else 'opts.json'
    with open(os.path.join(result_path, name), 'w') as f:
        json.dump(options, f, indent=2)


# ----------------------------------------------------------------------------------------------
# Model, optimizer, schedule
# ----------------------------------------------------------------------------------------------

def build_model(model_config):
    # A fixed name scope keeps parameter names (the optimizer state's keys) identical across runs.
    with paddle.utils.unique_name.guard():
        return models.generate_model(model_config)


def pretrained_checkpoint(config):
    """(the --pretrain_path checkpoint or None (also when resuming), the Config with its model options (all but
    the class count, which is the new task's) for the model flags not typed)."""
    path = config.train.pretrain_path
    if not path or config.train.resume_path:
        return None, config
    checkpoint = load_checkpoint(path)
    config, _ = with_model_options(config, checkpoint, checkpoint_state_dict(checkpoint, path), path,
                                   ignore=('n_classes',))
    return checkpoint, config


def load_pretrained(model, checkpoint, path, model_config, n_pretrain_classes=0):
    """Weights of the pretrained checkpoint at ``path`` without the classifier, which starts fresh for the
    new classes."""
    state_dict = checkpoint_state_dict(checkpoint, path)
    classifier = models.get_classifier_name(model_config.model)
    n_pretrain = classifier_classes(state_dict, model_config.model)
    if n_pretrain_classes and n_pretrain not in (None, n_pretrain_classes):
        raise UserError(f'{path} has {n_pretrain} classes, not --n_pretrain_classes {n_pretrain_classes}')
    load_weights(model, state_dict, path, skip_prefixes=(classifier,))
    print(f'loaded {path} ({n_pretrain} classes); new {classifier} with {model_config.n_classes} classes')


@dataclass
class State:
    """What a checkpoint saves and restores, and what training steps."""
    model: Any
    optimizer: Any
    scheduler: Any
    scaler: Any = None
    train_step: Any = None  # make_train_step's: the model (or its DataParallel wrapper) in the chosen graph
    predict: Any = None  # validation's clips -> logits (build_predict)
    begin_epoch: int = 1
    best_acc: float = 0.0
    class_names: Optional[list] = field(default=None)

    def checkpoint(self, epoch, config):
        return {'epoch': epoch, 'arch': config.model.arch,
                'model_opts': config.model.record(), 'data_opts': config.data.record(),
                'class_names': self.class_names, 'state_dict': self.model.state_dict(),
                'optimizer': self.optimizer.state_dict(), 'scheduler': self.scheduler.state_dict(),
                'best_acc': self.best_acc}


def restore(state, checkpoint, path, weights_only_note=True):
    """Weights, optimizer, schedule and epoch of the --resume_path checkpoint at ``path``."""
    load_weights(state.model, checkpoint_state_dict(checkpoint, path), path)
    saved = 'optimizer' in checkpoint and 'scheduler' in checkpoint
    if saved and weights_only_note:  # (not with --no_train: only the weights are used, whatever the schedule)
        try:
            state.optimizer.set_state_dict(checkpoint['optimizer'])
            set_scheduler_state(state.scheduler, checkpoint['scheduler'])
        except ScheduleMismatch as e:
            raise UserError(f'{path} was trained with another learning-rate schedule: {e}; pass the '
                            '--lr_scheduler and --warmup_epochs it was trained with') from None
    elif not saved and weights_only_note:
        print(f'{path} holds weights only: the optimizer and schedule start afresh')
    state.begin_epoch = int(checkpoint.get('epoch', 0)) + 1
    state.best_acc = float(checkpoint.get('best_acc', 0.0))
    print(f'resumed from {path}: continuing at epoch {state.begin_epoch}')


def build_state(config, setup, resumed=None, pretrained=None, class_names=None):
    """Model (with the pretrained or the resumed checkpoint's weights), optimizer, schedule, AMP scaler,
    the training step (engine.steps.make_train_step) and validation's predict: every graph choice is made
    (and a bad one refused) before the run writes anything."""
    train = config.train
    model = build_model(config.model)
    if train.batchnorm_sync:  # statistics over every GPU's clips; same parameter names, so checkpoints load anywhere
        model = paddle.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    if pretrained is not None:
        load_pretrained(model, pretrained, train.pretrain_path, config.model, train.n_pretrain_classes)
    scheduler = build_scheduler(train)
    parameters = models.get_fine_tuning_parameters(model, train.ft_begin_index, train.ft_begin_module)
    optimizer = PyTorchSGD(parameters, scheduler, train.momentum, train.dampening, train.weight_decay, train.nesterov)
    state = State(model, optimizer, scheduler, begin_epoch=train.begin_epoch, class_names=class_names)
    if resumed is not None:
        check_class_names(resumed.get('class_names'), class_names, train.resume_path, config.data.annotation_path)
        restore(state, resumed, train.resume_path, weights_only_note=not train.no_train)
    if train.amp and setup.device == 'gpu':
        state.scaler = paddle.amp.GradScaler()
    elif train.amp:
        print('--amp needs a GPU; training in float32 on the CPU')
    if setup.world_size > 1:
        dist.init_parallel_env()
    state.train_step = make_train_step(model, config, setup, state.scaler)
    state.predict = build_predict(model, config, setup, amp=state.scaler is not None,
                                  static_training=isinstance(state.train_step, StaticTrainStep) and not train.no_train)
    return state


def build_predict(model, config, setup, amp=False, static_training=False):
    """Evaluation's ``predict(clips) -> logits`` (a static oneDNN graph where --eval_graph allows)."""
    static = use_static_graph(config.evaluation.eval_graph, setup.device, setup.world_size, amp=amp,
                              data_format=config.model.data_format)
    if setup.is_main:
        print(describe(setup.device, setup.cpu_threads, static, static_training))
    return compile_predict(model, clip_shape(config.data), static)


# ----------------------------------------------------------------------------------------------
# One pass
# ----------------------------------------------------------------------------------------------

def reduce_sums(values, world_size):
    if world_size == 1:
        return values
    tensor = paddle.to_tensor(values, dtype='float64')
    dist.all_reduce(tensor)
    return tensor.numpy().tolist()


def progress(loader, desc, show_progress):
    return tqdm(loader, desc=desc, disable=not show_progress or not is_terminal(sys.stderr), dynamic_ncols=True,
                leave=False)


def checked(batches, loader):
    """(clips, targets) of each batch; a clip that failed to load stops the run with its real message."""
    for clips, targets, indices, ok, messages in batches:
        raise_if_interrupted()
        error = loader.dataset.first_error(indices.numpy(), ok.numpy(), messages.numpy())
        if error:
            raise UserError(error)
        yield clips, targets


def train_step(step, clips, targets, scaler=None, where='', summed=False):
    """Forward and backward of ``step`` (engine.steps.make_train_step's) on one normalised batch (the update is
    apply_update); returns (outputs, loss value). ``summed`` (--accumulate_steps > 1) backpropagates the
    batch's summed loss: apply_update then divides the accumulated gradients by the clip count, which gives a
    group of batches the gradient of its mean loss, as one big batch (BatchNorm statistics aside: each batch
    normalises itself)."""
    outputs, loss = step(clips, targets)
    loss_value = loss.item()
    if not math.isfinite(loss_value):
        raise UserError(f'loss became {loss_value}{where}; stopped before the update, so the checkpoints of this '
                        'run are intact; lower --learning_rate')
    if summed:
        loss = loss * targets.shape[0]
    step.backward(scaler.scale(loss) if scaler is not None else loss)
    return outputs, loss_value


def apply_update(optimizer, scaler, n_clips=None):
    """The optimizer step on the gradients so far (of summed losses over ``n_clips`` clips, when given)."""
    optimizer.step(scaler, 1.0 / n_clips if n_clips else 1.0)
    optimizer.clear_grad()


def train_one_epoch(step, loader, optimizer, normalize, epoch, accumulate_steps=1, batch_log=None, scaler=None,
                    show_progress=True):
    """One epoch of training; returns {'loss', 'acc', 'lr', 'clips_per_s'} over every rank's clips."""
    step.train()
    loss_sum = correct = count = 0.0
    lr = optimizer.get_lr()
    start = time.time()
    bar = progress(loader, f'epoch {epoch} train', show_progress)
    waiting = 0  # clips whose gradients are not applied yet (--accumulate_steps: batches per update)
    for i, (clips, targets) in enumerate(checked(bar, loader), 1):
        outputs, loss_value = train_step(step, normalize(clips), targets, scaler, f' at epoch {epoch}, batch {i}',
                                         summed=accumulate_steps > 1)
        n = targets.shape[0]
        waiting += n
        if i % accumulate_steps == 0 or i == len(loader):
            apply_update(optimizer, scaler, waiting if accumulate_steps > 1 else None)
            waiting = 0
        batch_correct = (outputs.argmax(axis=1) == targets).astype('float32').sum().item()
        loss_sum, correct, count = loss_sum + loss_value * n, correct + batch_correct, count + n
        if batch_log is not None:
            batch_log.log({'epoch': epoch, 'batch': i, 'iter': (epoch - 1) * len(loader) + i,
                           'loss': loss_value, 'acc': batch_correct / n, 'lr': lr})
        bar.set_postfix(loss=f'{loss_sum / count:.4f}', acc=f'{correct / count:.3f}', lr=f'{lr:.3g}',
                        clips_s=f'{count / max(time.time() - start, 1e-9):.1f}')
    loss_sum, correct, count = reduce_sums([loss_sum, correct, count], dist.get_world_size())
    return {'loss': loss_sum / count, 'acc': correct / count, 'lr': lr,
            'clips_per_s': count / max(time.time() - start, 1e-9)}


@paddle.no_grad()
def validate(predict, loader, normalize, epoch, show_progress=True):
    """Clip-level loss and top-1 accuracy over the validation clips (video accuracy: test.py);
    ``predict`` is engine.runtime.compile_predict's."""
    predict.eval()
    loss_sum = correct = count = 0.0
    for clips, targets in checked(progress(loader, f'epoch {epoch} val', show_progress), loader):
        outputs = predict(normalize(clips))
        loss_sum += F.cross_entropy(outputs, targets, reduction='sum').item()
        correct += (outputs.argmax(axis=1) == targets).astype('float32').sum().item()
        count += targets.shape[0]
    loss_sum, correct, count = reduce_sums([loss_sum, correct, count], dist.get_world_size())
    if count == 0:
        raise BadInput('the validation subset is empty; check --annotation_path or pass --no_val')
    return {'loss': loss_sum / count, 'acc': correct / count}


# ----------------------------------------------------------------------------------------------
# The epoch loop
# ----------------------------------------------------------------------------------------------

class RunLogs:
    """train.log, train_batch.log, val.log (rank 0) and VisualDL scalars. Resuming at ``begin_epoch``
    appends to the logs and to the one VisualDL record stream after dropping their rows of that epoch and
    later (written after the checkpoint by an interrupted run), so a resumed run's logs equal an
    uninterrupted run's and VisualDL shows epochs 1..N as one curve."""

    def __init__(self, result_path, data, setup, begin_epoch=1, resumed=False, vdl=True):
        self.files = {}
        keep = begin_epoch if resumed else None

        def log(name, header):
            return TSVLogger(os.path.join(result_path, name), header, resume=keep is not None, keep_before=keep)

        if setup.is_main and data.train_loader:
            self.files['train'] = log('train.log', ['epoch', 'loss', 'acc', 'lr'])
            self.files['batch'] = log('train_batch.log', ['epoch', 'batch', 'iter', 'loss', 'acc', 'lr'])
        if setup.is_main and data.val_loader:
            self.files['val'] = log('val.log', ['epoch', 'loss', 'acc'])
        self.scalars = ScalarWriter(os.path.join(result_path, 'vdl'), enabled=setup.is_main and vdl,
                                    keep_before=keep)

    def epoch(self, name, epoch, metrics):
        if name in self.files:
            self.files[name].log({'epoch': epoch, **metrics})
            self.scalars.add(name, metrics, epoch)

    def hparams(self, options, given, metrics, n_epochs):
        """The run's flags (``options`` by name; ``given``: the ones typed) and final metrics (its curves' last
        values, the best validation accuracy), for VisualDL's hparams view (rank 0, --vdl)."""
        final = dict.fromkeys(FINAL_METRIC_TAGS)
        if metrics.get('val'):
            final['val/best_acc'] = metrics.get('best_acc')
        self.scalars.add_hparams(hparams_of(options, given), final, n_epochs)

    def close(self):
        for log in self.files.values():
            log.close()
        self.scalars.close()


def summary(epoch, n_epochs, train_metrics=None, val_metrics=None):
    """The line printed after an epoch."""
    parts = [f'epoch {epoch}/{n_epochs}']
    if train_metrics:
        parts.append(f"train loss {train_metrics['loss']:.4f} acc {train_metrics['acc']:.4f} "
                     f"lr {train_metrics['lr']:.3g} ({train_metrics['clips_per_s']:.1f} clips/s)")
    if val_metrics:
        parts.append(f"val loss {val_metrics['loss']:.4f} clip acc {val_metrics['acc']:.4f}")
    return ' | '.join(parts)


def save_epoch_checkpoints(state, epoch, is_best, config):
    result_path = config.run.result_path
    last = os.path.join(result_path, 'last.pdparams')
    save_checkpoint(state.checkpoint(epoch, config), last)
    # the same checkpoint under its other names, written once (a 115 MB ResNet-10 checkpoint took 0.6-2.5 s)
    if epoch % config.train.checkpoint == 0:
        link_checkpoint(last, os.path.join(result_path, f'save_{epoch}.pdparams'))
    if is_best:
        link_checkpoint(last, os.path.join(result_path, 'best.pdparams'))


def reseed(seed, epoch, rank):
    """Reseeding per epoch makes a resumed run draw exactly what an uninterrupted one would."""
    seed_everything(seed * 100003 + epoch * 101 + rank)


def validate_only(state, data, config, setup, logs):
    """--no_train: one validation pass at the checkpoint's epoch; returns its metrics."""
    epoch = state.begin_epoch
    reseed(config.train.manual_seed, epoch, setup.rank)
    normalize = datasets.input_normalizer(config.data, config.model.data_format)
    metrics = validate(state.predict, data.val_loader, normalize, epoch, setup.show_progress) if data.val_loader else {}
    logs.epoch('val', epoch, metrics)
    if setup.is_main:  # the weights are those of the checkpoint's epoch (begin_epoch - 1), not a new epoch
        weights = (f'the weights of epoch {epoch - 1} ({config.train.resume_path})' if config.train.resume_path
                   else 'the initial weights' + (f' ({config.train.pretrain_path})' if config.train.pretrain_path else ''))
        print(f'validation of {weights}' + (f" | val loss {metrics['loss']:.4f} clip acc {metrics['acc']:.4f}"
                                             if metrics else ''))
    return {'val': metrics}


def fit(state, data, config, setup, logs):
    """Epochs state.begin_epoch .. --n_epochs: train, validate, step the schedule, save on rank 0.
    Returns the last epoch's {'train': ..., 'val': ...} metrics and the best validation clip accuracy."""
    normalize = datasets.input_normalizer(config.data, config.model.data_format)
    metrics, epoch = {}, state.begin_epoch
    try:
        for epoch in range(state.begin_epoch, config.train.n_epochs + 1):
            metrics = fit_epoch(state, data, config, setup, logs, normalize, epoch)
    except BaseException as e:
        signum = interruption(e)  # also an error caused by the signal (a DataLoader worker it ended)
        if signum is None:
            raise
        raise Interrupted(signum, interrupted_message(config, epoch)) from None
    return dict(metrics, best_acc=state.best_acc)


def interrupted_message(config, epoch):
    """What an interrupted run keeps and the command that continues it."""
    # absolute: --root_path leaves it
    last = os.path.abspath(os.path.join(config.run.result_path, 'last.pdparams'))
    if os.path.isfile(last) or config.train.resume_path:
        return (f'interrupted in epoch {epoch}; continue with --resume_path '
                f'{last if os.path.isfile(last) else os.path.abspath(config.train.resume_path)}')
    return f'interrupted in epoch {epoch}, before the first checkpoint; run the same command again'


def fit_epoch(state, data, config, setup, logs, normalize, epoch):
    """One epoch of fit: train, validate, step the schedule, save (rank 0); returns its metrics."""
    reseed(config.train.manual_seed, epoch, setup.rank)
    if setup.world_size > 1:
        data.train_loader.batch_sampler.set_epoch(epoch)
    train_metrics = train_one_epoch(state.train_step, data.train_loader, state.optimizer, normalize, epoch,
                                    config.train.accumulate_steps, logs.files.get('batch'), state.scaler,
                                    setup.show_progress)
    logs.epoch('train', epoch, train_metrics)
    val_metrics = (validate(state.predict, data.val_loader, normalize, epoch, setup.show_progress)
                   if data.val_loader else None)
    logs.epoch('val', epoch, val_metrics or {})
    step_scheduler(state.scheduler, val_metrics and val_metrics['loss'])
    if setup.is_main:
        is_best = val_metrics is not None and val_metrics['acc'] > state.best_acc
        state.best_acc = max(state.best_acc, val_metrics['acc']) if val_metrics else state.best_acc
        save_epoch_checkpoints(state, epoch, is_best, config)
        print(summary(epoch, config.train.n_epochs, train_metrics, val_metrics), flush=True)
    return {'train': train_metrics, 'val': val_metrics}


def parameter_checksum(model):
    """Sum of the trainable weights: equal on every rank after data-parallel training (BN statistics
    stay per rank)."""
    return sum(float(p.astype('float64').sum()) for p in model.parameters() if not p.stop_gradient)
