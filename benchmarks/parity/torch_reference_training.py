"""The reference's 2020 training and inference (kenshohara/3D-ResNets-PyTorch master: ``main.py``,
``training.py``, ``inference.py``, ``spatial_transforms.py``, ``temporal_transforms.py``,
``datasets/videodataset.py``) re-implemented in PyTorch on top of ``torch_reference_models.py``, as
the other side of ``benchmarks/parity/harness.py``. Written from the reference's documented behaviour, not
copied; what each piece reproduces:

* data: frames ``<video_path>/<label>/<video>/image_%05d.jpg`` (1-indexed, PIL ``convert('RGB')``),
  the annotation JSON's ``segment`` (else the ``n_frames`` file); training clips by
  ``TemporalRandomCrop`` (start drawn from ``[0, n - size - 1]``, loop-padded), then, once per clip,
  ``MultiScaleCornerCrop`` (scales 1, 2^-1/4 ... 2^-1 by repeated multiplication; crop side
  ``int(short side * scale)``; position from c/tl/tr/bl/br, the centre box at
  ``round((W - side) / 2)``), optional ``RandomHorizontalFlip``, ``ToTensor`` ([0, 1]),
  ``ScaleValue``, ``Normalize``;
* training: ``random``/``numpy``/``torch`` seeded with ``--manual_seed``, DataLoader with
  ``shuffle=True`` and workers seeded ``torch.initial_seed() + worker_id``, SGD (momentum,
  dampening, coupled weight decay), ``MultiStepLR`` stepped per epoch, ``CrossEntropyLoss``; the
  model's conv weights Kaiming-normal (fan_out, relu), BN weight 1 / bias 0, ``nn.Linear``'s own init;
* inference: ``SlidingWindow(sample_duration, inference_stride)`` (a short last window is
  loop-padded and ends the video), ``Resize(sample_size)`` (short side, long side truncated) +
  ``CenterCrop`` + the same normalisation, softmax per clip averaged per video.

    python -m benchmarks.parity.torch_reference_training --video_path D/jpg --annotation_path D/ucf101_01.json \
        --result_path R --n_classes 6 --model_depth 10 --sample_size 48 --sample_duration 8 ...

writes ``R/train.log`` (the reference's columns ``epoch loss acc lr``) and ``R/metrics.json``
(``video_top1``, ``n_videos``, the options).
"""
import argparse
import json
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

from benchmarks.parity import torch_reference_models

KINETICS_MEAN = [0.4345, 0.4051, 0.3775]
KINETICS_STD = [0.2768, 0.2713, 0.2737]
CROP_POSITIONS = ['c', 'tl', 'tr', 'bl', 'br']


# ------------------------------------------------------------------------------------ temporal
def loop_padding(indices, size):
    out = list(indices)
    for index in out:
        if len(out) >= size:
            break
        out.append(index)
    return out


def temporal_random_crop(indices, size):
    begin = random.randint(0, max(0, len(indices) - size - 1))
    return loop_padding(indices[begin:begin + size], size)


def sliding_window(indices, size, stride):
    windows = []
    for begin in indices[::stride]:
        window = list(range(begin, min(indices[-1] + 1, begin + size)))
        if len(window) < size:
            windows.append(loop_padding(window, size))
            break
        windows.append(window)
    return windows


# ------------------------------------------------------------------------------------- spatial
class MultiScaleCornerCrop:
    def __init__(self, size, scales):
        self.size, self.scales = size, scales

    def randomize_parameters(self):
        self.scale = self.scales[random.randint(0, len(self.scales) - 1)]
        self.position = CROP_POSITIONS[random.randint(0, len(CROP_POSITIONS) - 1)]

    def crop_box(self, width, height):
        side = int(min(width, height) * self.scale)
        top, left = {'c': (int(round((height - side) / 2.)), int(round((width - side) / 2.))),
                     'tl': (0, 0), 'tr': (0, width - side), 'bl': (height - side, 0),
                     'br': (height - side, width - side)}[self.position]
        return left, top, left + side, top + side

    def __call__(self, img):
        img = img.crop(self.crop_box(*img.size))
        return img.resize((self.size, self.size), Image.BILINEAR)


class RandomHorizontalFlip:
    def randomize_parameters(self):
        self.random_p = random.random()

    def __call__(self, img):
        return img.transpose(Image.FLIP_LEFT_RIGHT) if self.random_p < 0.5 else img


class ResizeCenterCrop:
    """torchvision's ``Resize(size)`` (short side to size, long side truncated) + ``CenterCrop(size)``."""

    def __init__(self, size):
        self.size = size

    def randomize_parameters(self):
        pass

    def __call__(self, img):
        width, height = img.size
        if width <= height:
            new_size = (self.size, int(self.size * height / width))
        else:
            new_size = (int(self.size * width / height), self.size)
        img = img.resize(new_size, Image.BILINEAR)
        top = int(round((new_size[1] - self.size) / 2.))
        left = int(round((new_size[0] - self.size) / 2.))
        return img.crop((left, top, left + self.size, top + self.size))


class ToNormalizedTensor:
    """``ToTensor`` ([0, 1]) + ``ScaleValue`` + ``Normalize``, in torchvision's float32 operations."""

    def __init__(self, value_scale, mean, std):
        self.value_scale = value_scale
        self.mean = torch.tensor(mean).view(3, 1, 1)
        self.std = torch.tensor(std).view(3, 1, 1)

    def randomize_parameters(self):
        pass

    def __call__(self, img):
        tensor = torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1).float().div(255)
        tensor *= self.value_scale
        return tensor.sub_(self.mean).div_(self.std)


class Compose:
    def __init__(self, transforms):
        self.transforms = transforms

    def randomize_parameters(self):
        for t in self.transforms:
            t.randomize_parameters()

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img


def multiscale_scales(n_scales=5):
    scales, step = [1.0], 1 / (2 ** (1 / 4))
    for _ in range(1, n_scales):
        scales.append(scales[-1] * step)
    return scales


# ------------------------------------------------------------------------------------- dataset
def load_frames(video_dir, indices):
    frames = []
    for i in indices:
        with open(os.path.join(video_dir, 'image_{:05d}.jpg'.format(i)), 'rb') as f, Image.open(f) as img:
            frames.append(img.convert('RGB'))
    return frames


def read_videos(video_path, annotation_path, subset):
    """[(video_id, folder, label index, frame indices)] of one subset."""
    with open(annotation_path) as f:
        data = json.load(f)
    labels = {name: i for i, name in enumerate(data['labels'])}
    videos = []
    for key, value in data['database'].items():
        if value['subset'] != subset:
            continue
        label = value['annotations']['label']
        folder = os.path.join(video_path, label, key)
        segment = value['annotations'].get('segment')
        if segment is None:
            with open(os.path.join(folder, 'n_frames')) as f:
                segment = [1, int(float(f.read())) + 1]
        if segment[1] > segment[0]:
            videos.append((key, folder, labels[label], list(range(segment[0], segment[1]))))
    return videos


class TrainingClips(torch.utils.data.Dataset):
    def __init__(self, videos, sample_duration, spatial_transform):
        self.videos, self.sample_duration, self.spatial_transform = videos, sample_duration, spatial_transform

    def __len__(self):
        return len(self.videos)

    def __getitem__(self, index):
        _, folder, label, indices = self.videos[index]
        frames = load_frames(folder, temporal_random_crop(indices, self.sample_duration))
        self.spatial_transform.randomize_parameters()
        clip = torch.stack([self.spatial_transform(img) for img in frames], 0).permute(1, 0, 2, 3)
        return clip, label


def worker_init_fn(worker_id):
    seed = torch.initial_seed() % 2 ** 32
    random.seed(seed + worker_id)
    np.random.seed(seed + worker_id)


def reference_init_(model):
    for m in model.modules():
        if isinstance(m, nn.Conv3d):
            nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
        elif isinstance(m, nn.BatchNorm3d):
            nn.init.constant_(m.weight, 1)
            nn.init.constant_(m.bias, 0)
    return model


def normalizer(opt):
    if opt.mean_dataset != 'kinetics':
        raise ValueError('only the Kinetics mean/std are implemented on the PyTorch side')
    mean = [m * opt.value_scale for m in KINETICS_MEAN]
    std = [s * opt.value_scale for s in KINETICS_STD] if opt.std_norm else [1.0, 1.0, 1.0]
    return ToNormalizedTensor(opt.value_scale, mean, std)


# ------------------------------------------------------------------------------------ training
def train_epoch(model, loader, criterion, optimizer):
    model.train()
    loss_sum = correct = count = 0.0
    for clips, targets in loader:
        outputs = model(clips)
        loss = criterion(outputs, targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        n = targets.size(0)
        loss_sum += loss.item() * n
        correct += (outputs.argmax(1) == targets).sum().item()
        count += n
    return loss_sum / count, correct / count


@torch.no_grad()
def video_accuracy(model, videos, opt):
    """Top-1 of the per-video mean of clip softmaxes over sliding windows (the reference's inference)."""
    model.eval()
    transform = Compose([ResizeCenterCrop(opt.sample_size), normalizer(opt)])
    stride = opt.inference_stride or opt.sample_duration
    correct = 0
    for _, folder, label, indices in videos:
        clips = []
        for window in sliding_window(indices, opt.sample_duration, stride):
            frames = load_frames(folder, window)
            clips.append(torch.stack([transform(img) for img in frames], 0).permute(1, 0, 2, 3))
        scores = torch.cat([F.softmax(model(torch.stack(clips[i:i + opt.batch_size])), dim=1)
                            for i in range(0, len(clips), opt.batch_size)])
        correct += int(scores.mean(0).argmax().item() == label)
    return correct / len(videos)


def build_model(opt):
    model = torch_reference_models.build('resnet', opt.model_depth, n_classes=opt.n_classes,
                                         resnet_shortcut=opt.resnet_shortcut,
                                         resnet_widen_factor=opt.resnet_widen_factor)
    return reference_init_(model)


def run(opt):
    random.seed(opt.manual_seed)
    np.random.seed(opt.manual_seed)
    torch.manual_seed(opt.manual_seed)
    if opt.n_torch_threads:
        torch.set_num_threads(opt.n_torch_threads)
    os.makedirs(opt.result_path, exist_ok=True)
    model = build_model(opt)
    transforms = [MultiScaleCornerCrop(opt.sample_size, multiscale_scales())]
    if not opt.no_hflip:
        transforms.append(RandomHorizontalFlip())
    train_set = TrainingClips(read_videos(opt.video_path, opt.annotation_path, 'training'),
                              opt.sample_duration, Compose(transforms + [normalizer(opt)]))
    loader = torch.utils.data.DataLoader(train_set, batch_size=opt.batch_size, shuffle=True,
                                         num_workers=opt.n_threads, worker_init_fn=worker_init_fn)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=opt.learning_rate, momentum=opt.momentum,
                                dampening=opt.dampening, weight_decay=opt.weight_decay)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, opt.multistep_milestones)
    start = time.time()
    with open(os.path.join(opt.result_path, 'train.log'), 'w') as log:
        log.write('epoch\tloss\tacc\tlr\n')
        for epoch in range(1, opt.n_epochs + 1):
            lr = optimizer.param_groups[0]['lr']
            loss, acc = train_epoch(model, loader, criterion, optimizer)
            scheduler.step()
            log.write(f'{epoch}\t{loss}\t{acc}\t{lr}\n')
            log.flush()
            print(f'epoch {epoch}/{opt.n_epochs} loss {loss:.4f} acc {acc:.4f} lr {lr:.3g}', flush=True)
    train_seconds = time.time() - start
    held_out = read_videos(opt.video_path, opt.annotation_path, 'validation')
    top1 = video_accuracy(model, held_out, opt)
    print(f'video top-1 {top1:.4f} ({len(held_out)} videos)')
    with open(os.path.join(opt.result_path, 'metrics.json'), 'w') as f:
        json.dump({'video_top1': top1, 'n_videos': len(held_out), 'train_seconds': train_seconds,
                   'options': vars(opt)}, f, indent=2)
    return top1


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], allow_abbrev=False)
    p.add_argument('--video_path', required=True)
    p.add_argument('--annotation_path', required=True)
    p.add_argument('--result_path', required=True)
    p.add_argument('--n_classes', type=int, required=True)
    p.add_argument('--model_depth', type=int, default=10)
    p.add_argument('--resnet_shortcut', default='B')
    p.add_argument('--resnet_widen_factor', type=float, default=1.0)
    p.add_argument('--sample_size', type=int, default=112)
    p.add_argument('--sample_duration', type=int, default=16)
    p.add_argument('--inference_stride', type=int, default=0, help='0: sample_duration (non-overlapping)')
    p.add_argument('--batch_size', type=int, default=128)
    p.add_argument('--learning_rate', type=float, default=0.1)
    p.add_argument('--momentum', type=float, default=0.9)
    p.add_argument('--dampening', type=float, default=0.0)
    p.add_argument('--weight_decay', type=float, default=1e-3)
    p.add_argument('--multistep_milestones', type=int, nargs='+', default=[50, 100, 150])
    p.add_argument('--n_epochs', type=int, default=200)
    p.add_argument('--no_hflip', action='store_true')
    p.add_argument('--value_scale', type=float, default=1.0)
    p.add_argument('--mean_dataset', default='kinetics')
    p.add_argument('--std_norm', action='store_true')
    p.add_argument('--n_threads', type=int, default=2, help='DataLoader workers')
    p.add_argument('--n_torch_threads', type=int, default=0, help='math threads (0: torch default)')
    p.add_argument('--manual_seed', type=int, default=1)
    return p.parse_args(argv)


if __name__ == '__main__':
    run(parse_args())
