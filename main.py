"""Train and validate a 3D CNN on UCF101 / HMDB51 / Kinetics JPEG frames.

    python main.py --root_path DATA --video_path UCF101/jpg --annotation_path UCF101/ucf101_01.json \
        --result_path results --dataset ucf101 --model resnet --model_depth 18 --n_classes 101

Multi-GPU:  python -m paddle.distributed.launch --gpus 0,1,2,3 main.py ...
Multi-process CPU: python -m paddle.distributed.launch --nproc_per_node 2 main.py ... --device cpu
Validation accuracy here is clip accuracy (as the reference's val.log); test.py gives video accuracy.
"""
import glob
import json
import math
import os
import random
import sys
import time

import numpy as np
import paddle
import paddle.distributed as dist
import paddle.nn.functional as F
from tqdm import tqdm

import datasets
import models
from datasets.safe_clips import SafeClips, clip_shape
from opts import parse_opts
from utils.checkpoint import (CheckpointError, checkpoint_state_dict, describe_model_opts_mismatch,
                              load_checkpoint, load_weights, save_checkpoint)
from utils.logger import ScalarWriter, TSVLogger
from utils.optim import PyTorchSGD, build_scheduler, step_scheduler
from utils.runtime import AMP_WHITE_LIST, compile_predict, cpu_cores, describe, select_device, use_static_graph


# Saved in checkpoints so test.py and scripts/predict.py feed clips the way training did.
DATA_OPTION_NAMES = ('sample_size', 'sample_duration', 'sample_t_stride', 'norm_value', 'mean', 'std')


class TrainingError(Exception):
    """A problem with the run's input; printed as one line and the run exits with status 1."""


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed % 2 ** 32)
    paddle.seed(seed)


class ShardSampler(paddle.io.Sampler):
    """Indices rank, rank + world, ... : every sample on exactly one rank, none repeated (no padding)."""

    def __init__(self, n_samples, rank, world_size):
        self.indices = list(range(rank, n_samples, world_size))

    def __iter__(self):
        return iter(self.indices)

    def __len__(self):
        return len(self.indices)


def build_loader(dataset, opt, train, rank, world_size):
    batch_size = max(1, opt.batch_size // world_size)  # --batch_size is the global batch, as the reference
    if train and world_size > 1:
        sampler = paddle.io.DistributedBatchSampler(dataset, batch_size, shuffle=True)
    elif train:
        sampler = paddle.io.BatchSampler(dataset, batch_size=batch_size, shuffle=True)
    else:
        sampler = paddle.io.BatchSampler(sampler=ShardSampler(len(dataset), rank, world_size),
                                         batch_size=batch_size)
    # Workers are seeded from numpy's global stream, which each epoch reseeds (see run).
    return paddle.io.DataLoader(dataset, batch_sampler=sampler, num_workers=opt.n_threads)


def reduce_sums(values, world_size):
    if world_size == 1:
        return values
    tensor = paddle.to_tensor(values, dtype='float64')
    dist.all_reduce(tensor)
    return tensor.numpy().tolist()


def check_batch(loader, indices, ok):
    error = loader.dataset.first_error(indices.numpy(), ok.numpy())
    if error:
        raise TrainingError(error)


def train_one_epoch(model, loader, optimizer, epoch, opt, batch_log, scaler=None, show_progress=True):
    model.train()
    loss_sum = correct = count = 0.0
    lr = optimizer.get_lr()
    start = time.time()
    bar = tqdm(loader, desc=f'epoch {epoch} train', disable=not show_progress, dynamic_ncols=True, leave=False)
    normalize = datasets.input_normalizer(opt)
    for i, (clips, targets, indices, ok) in enumerate(bar, 1):
        check_batch(loader, indices, ok)
        clips = normalize(clips)
        with paddle.amp.auto_cast(enable=scaler is not None, dtype=opt.amp_dtype, custom_white_list=AMP_WHITE_LIST):
            outputs = model(clips)
            loss = F.cross_entropy(outputs.astype('float32'), targets)
        loss_value = loss.item()
        if not math.isfinite(loss_value):
            raise TrainingError(f'loss became {loss_value} at epoch {epoch}, batch {i}; stopped before the update, '
                                f'so the checkpoints in {opt.result_path} are intact; lower --learning_rate')
        (scaler.scale(loss) if scaler is not None else loss).backward()
        optimizer.step(scaler)
        optimizer.clear_grad()

        n = targets.shape[0]
        batch_correct = (outputs.argmax(axis=1) == targets).astype('float32').sum().item()
        loss_sum, correct, count = loss_sum + loss_value * n, correct + batch_correct, count + n
        clips_per_s = count / max(time.time() - start, 1e-9)
        if batch_log is not None:
            batch_log.log({'epoch': epoch, 'batch': i, 'iter': (epoch - 1) * len(loader) + i,
                           'loss': loss_value, 'acc': batch_correct / n, 'lr': lr})
        bar.set_postfix(loss=f'{loss_sum / count:.4f}', acc=f'{correct / count:.3f}', lr=f'{lr:.3g}',
                        clips_s=f'{clips_per_s:.1f}')
    loss_sum, correct, count = reduce_sums([loss_sum, correct, count], dist.get_world_size())
    return {'loss': loss_sum / count, 'acc': correct / count, 'lr': lr,
            'clips_per_s': count / max(time.time() - start, 1e-9)}


@paddle.no_grad()
def evaluate(predict, loader, epoch, opt, show_progress=True):
    """Clip-level loss and top-1 accuracy over the validation clips (video accuracy: test.py);
    ``predict`` is utils.runtime.compile_predict's."""
    predict.eval()
    normalize = datasets.input_normalizer(opt)
    loss_sum = correct = count = 0.0
    for clips, targets, indices, ok in tqdm(loader, desc=f'epoch {epoch} val', disable=not show_progress,
                                            dynamic_ncols=True, leave=False):
        check_batch(loader, indices, ok)
        outputs = predict(normalize(clips))
        loss_sum += F.cross_entropy(outputs, targets, reduction='sum').item()
        correct += (outputs.argmax(axis=1) == targets).astype('float32').sum().item()
        count += targets.shape[0]
    loss_sum, correct, count = reduce_sums([loss_sum, correct, count], dist.get_world_size())
    if count == 0:
        raise TrainingError('the validation subset is empty; check --annotation_path or pass --no_val')
    return {'loss': loss_sum / count, 'acc': correct / count}


def build_model(opt):
    # A fixed name scope keeps parameter names (the optimizer state's keys) identical across runs.
    with paddle.utils.unique_name.guard():
        try:
            return models.generate_model(opt)
        except ValueError as e:
            raise TrainingError(str(e)) from None


def check_model_opts(checkpoint, opt, path, ignore=()):
    saved = checkpoint.get('model_opts') or {}
    names = [n for n in models.MODEL_OPTION_NAMES if n not in ignore]
    diffs = describe_model_opts_mismatch(saved, opt, names)
    if not saved and checkpoint.get('arch') and checkpoint['arch'] != opt.arch:
        diffs.append(f"arch: checkpoint {checkpoint['arch']!r}, flags {opt.arch!r}")
    if diffs:
        raise TrainingError(f'{path} was made with other model options ({"; ".join(diffs)}); '
                            'pass the checkpoint\'s values')


def load_pretrained(model, opt):
    """Weights of --pretrain_path without the classifier, which starts fresh for the new classes."""
    checkpoint = load_checkpoint(opt.pretrain_path)
    check_model_opts(checkpoint, opt, opt.pretrain_path, ignore=('n_classes',))
    state_dict = checkpoint_state_dict(checkpoint, opt.pretrain_path)
    classifier = models.get_classifier_name(opt.model)
    weight = state_dict.get(f'{classifier}.weight')
    n_pretrain = int(weight.shape[-1]) if weight is not None else None
    if opt.n_pretrain_classes and n_pretrain not in (None, opt.n_pretrain_classes):
        raise TrainingError(f'{opt.pretrain_path} has {n_pretrain} classes, not --n_pretrain_classes '
                            f'{opt.n_pretrain_classes}')
    load_weights(model, state_dict, opt.pretrain_path, skip_prefixes=(classifier,))
    print(f'loaded {opt.pretrain_path} ({n_pretrain} classes); new {classifier} with {opt.n_classes} classes')


def checkpoint_state(epoch, model, optimizer, scheduler, opt, class_names, best_acc):
    return {'epoch': epoch, 'arch': opt.arch,
            'model_opts': {name: getattr(opt, name) for name in models.MODEL_OPTION_NAMES},
            'data_opts': {name: getattr(opt, name) for name in DATA_OPTION_NAMES},
            'class_names': class_names, 'state_dict': model.state_dict(),
            'optimizer': optimizer.state_dict(), 'scheduler': scheduler.state_dict(), 'best_acc': best_acc}


def refuse_to_overwrite(opt):
    previous = [p for p in ['train.log', 'last.pdparams'] if os.path.exists(os.path.join(opt.result_path, p))]
    previous += glob.glob(os.path.join(opt.result_path, 'save_*.pdparams'))
    if previous and not opt.resume_path and not opt.no_train:
        raise TrainingError(f'{opt.result_path} already holds a run ({os.path.basename(previous[0])}); continue it '
                            f'with --resume_path {os.path.join(opt.result_path, "last.pdparams")} '
                            'or choose another --result_path')


def run(opt):
    rank, world_size = dist.get_rank(), dist.get_world_size()
    try:
        # Processes on one machine share its cores.
        device, cpu_threads = select_device(opt.device, opt.cpu_threads or max(1, cpu_cores() // world_size))
    except ValueError as e:
        raise TrainingError(str(e)) from None
    is_main = rank == 0
    show_progress = is_main and not opt.no_tqdm
    seed_everything(opt.manual_seed)
    refuse_to_overwrite(opt)
    train_set = None if opt.no_train else datasets.get_training_set(opt)
    val_set = None if opt.no_val else datasets.get_validation_set(opt)
    class_names = (train_set or val_set).class_names if (train_set or val_set) else None
    if class_names is not None and len(class_names) != opt.n_classes:
        raise TrainingError(f'{opt.annotation_path} lists {len(class_names)} labels but --n_classes is '
                            f'{opt.n_classes}; pass --n_classes {len(class_names)}')
    if is_main:  # only once the input is known to be usable, so a bad command leaves nothing behind
        os.makedirs(opt.result_path, exist_ok=True)
        opts_name = f'opts_resume_{time.strftime("%Y%m%d-%H%M%S")}.json' if opt.resume_path else 'opts.json'
        with open(os.path.join(opt.result_path, opts_name), 'w') as f:
            json.dump(vars(opt), f, indent=2)

    model = build_model(opt)
    if opt.pretrain_path and not opt.resume_path:
        load_pretrained(model, opt)
    parameters = models.get_fine_tuning_parameters(model, opt.ft_begin_index, opt.ft_begin_module)
    scheduler = build_scheduler(opt)
    optimizer = PyTorchSGD(parameters, scheduler, opt.momentum, opt.dampening, opt.weight_decay, opt.nesterov)

    begin_epoch, best_acc = opt.begin_epoch, 0.0
    if opt.resume_path:
        checkpoint = load_checkpoint(opt.resume_path)
        check_model_opts(checkpoint, opt, opt.resume_path)
        load_weights(model, checkpoint_state_dict(checkpoint, opt.resume_path), opt.resume_path)
        if 'optimizer' in checkpoint and 'scheduler' in checkpoint:
            optimizer.set_state_dict(checkpoint['optimizer'])
            scheduler.set_state_dict(checkpoint['scheduler'])
        elif not opt.no_train:
            print(f'{opt.resume_path} holds weights only: the optimizer and schedule start afresh')
        begin_epoch = int(checkpoint.get('epoch', 0)) + 1
        best_acc = float(checkpoint.get('best_acc', 0.0))
        print(f'resumed from {opt.resume_path}: continuing at epoch {begin_epoch}')

    scaler = None
    if opt.amp and device == 'gpu':
        scaler = paddle.amp.GradScaler()
    elif opt.amp:
        print('--amp needs a GPU; training in float32 on the CPU')
    train_model = model
    if world_size > 1:
        dist.init_parallel_env()
        train_model = paddle.DataParallel(model)
    static_eval = use_static_graph(opt.eval_graph, device, world_size, amp=scaler is not None,
                                   data_format=opt.data_format)
    predict = compile_predict(model, clip_shape(opt), static_eval)
    if is_main:
        print(describe(device, cpu_threads, static_eval))

    resume = bool(opt.resume_path)
    logs = {}
    if is_main and train_set is not None:
        logs['train'] = TSVLogger(os.path.join(opt.result_path, 'train.log'), ['epoch', 'loss', 'acc', 'lr'], resume)
        logs['batch'] = TSVLogger(os.path.join(opt.result_path, 'train_batch.log'),
                                  ['epoch', 'batch', 'iter', 'loss', 'acc', 'lr'], resume)
    if is_main and val_set is not None:
        logs['val'] = TSVLogger(os.path.join(opt.result_path, 'val.log'), ['epoch', 'loss', 'acc'], resume)
    scalars = ScalarWriter(os.path.join(opt.result_path, 'vdl'), enabled=is_main and opt.vdl)
    train_clips = train_set and SafeClips(train_set, clip_shape(opt))
    val_clips = val_set and SafeClips(val_set, clip_shape(opt))
    train_loader = train_clips and build_loader(train_clips, opt, True, rank, world_size)
    val_loader = val_clips and build_loader(val_clips, opt, False, rank, world_size)

    for epoch in range(begin_epoch, opt.n_epochs + 1):
        # Reseeding per epoch makes a resumed run draw exactly what an uninterrupted one would.
        epoch_seed = opt.manual_seed * 100003 + epoch * 101 + rank
        seed_everything(epoch_seed)
        summary = [f'epoch {epoch}/{opt.n_epochs}']
        if train_loader:
            if world_size > 1:
                train_loader.batch_sampler.set_epoch(epoch)
            train_metrics = train_one_epoch(train_model, train_loader, optimizer, epoch, opt, logs.get('batch'),
                                            scaler, show_progress)
            if is_main:
                logs['train'].log({'epoch': epoch, **train_metrics})
                scalars.add('train', train_metrics, epoch)
            summary.append(f"train loss {train_metrics['loss']:.4f} acc {train_metrics['acc']:.4f} "
                           f"lr {train_metrics['lr']:.3g} ({train_metrics['clips_per_s']:.1f} clips/s)")
        val_metrics = None
        if val_loader:
            val_metrics = evaluate(predict, val_loader, epoch, opt, show_progress)
            if is_main:
                logs['val'].log({'epoch': epoch, **val_metrics})
                scalars.add('val', val_metrics, epoch)
            summary.append(f"val loss {val_metrics['loss']:.4f} clip acc {val_metrics['acc']:.4f}")
        if not train_loader:
            if is_main:
                print(' | '.join(summary))
            break
        step_scheduler(scheduler, val_metrics and val_metrics['loss'])
        if is_main:
            is_best = val_metrics is not None and val_metrics['acc'] > best_acc
            best_acc = max(best_acc, val_metrics['acc']) if val_metrics else best_acc
            save_epoch_checkpoints(checkpoint_state(epoch, model, optimizer, scheduler, opt, class_names,
                                                    best_acc), epoch, is_best, opt)
            print(' | '.join(summary), flush=True)
    for log in logs.values():
        log.close()
    scalars.close()
    if world_size > 1:
        # Gradients are all-reduced, so trainable weights agree on every rank (BN statistics stay per rank).
        total = sum(float(p.astype('float64').sum()) for p in model.parameters() if not p.stop_gradient)
        print(f'rank {rank}/{world_size} parameter checksum {total:.6e}', flush=True)
    if is_main and train_loader:
        print(f'done: best validation clip accuracy {best_acc:.4f}; checkpoints in {opt.result_path}. '
              'Video accuracy: python test.py ... --resume_path <checkpoint>')


def save_epoch_checkpoints(state, epoch, is_best, opt):
    save_checkpoint(state, os.path.join(opt.result_path, 'last.pdparams'))
    if epoch % opt.checkpoint == 0:
        save_checkpoint(state, os.path.join(opt.result_path, f'save_{epoch}.pdparams'))
    if is_best:
        save_checkpoint(state, os.path.join(opt.result_path, 'best.pdparams'))


def main(argv=None):
    opt = parse_opts(argv, description='Train and validate a 3D CNN (clip accuracy; video accuracy: test.py).')
    try:
        run(opt)
    except (TrainingError, CheckpointError, FileNotFoundError) as e:
        sys.exit(f'error: {e}')


if __name__ == '__main__':
    main()
