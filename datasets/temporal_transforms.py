"""Temporal transforms: lists of 1-indexed frame numbers in, lists of frame numbers out.

Semantics follow kenshohara/3D-ResNets-PyTorch, CVPR2018 branch (the OLD layout that produced
the paper's numbers), including its quirks:

* ``TemporalRandomCrop`` draws ``begin = randint(0, max(0, n - size - 1))`` (inclusive), so the
  last possible start ``n - size`` is never chosen (the reference's off-by-one).
* ``LoopPadding`` repeats the list cyclically until it has ``size`` entries.
* validation windows (``validation_windows``) and test windows (``sliding_windows``) are cut
  when the dataset is built, exactly like the reference's ``make_dataset``.

All random draws use Python's ``random`` module, so ``random.seed`` controls them. No transform
mutates its input list.
"""

import math
import random

__all__ = [
    'Compose', 'LoopPadding', 'TemporalBeginCrop', 'TemporalCenterCrop', 'TemporalRandomCrop',
    'TemporalSubsampling', 'TemporalEvenCrop', 'validation_windows', 'sliding_windows',
]


def _loop_pad(frame_indices, size):
    out = list(frame_indices)
    if not out:
        raise ValueError('cannot loop-pad an empty list of frame indices')
    i = 0
    while len(out) < size:
        out.append(out[i])
        i += 1
    return out


class Compose(object):
    """Apply temporal transforms in order."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, frame_indices):
        for t in self.transforms:
            frame_indices = t(frame_indices)
        return frame_indices

    def __repr__(self):
        return 'Compose({})'.format(', '.join(repr(t) for t in self.transforms))


class LoopPadding(object):
    """Append the list's own elements cyclically until it has ``size`` entries.

    [1, 2, 3] with size 8 -> [1, 2, 3, 1, 2, 3, 1, 2]. Longer lists are returned unchanged.
    """

    def __init__(self, size):
        self.size = size

    def __call__(self, frame_indices):
        return _loop_pad(frame_indices, self.size)

    def __repr__(self):
        return 'LoopPadding({})'.format(self.size)


class TemporalBeginCrop(object):
    """The first ``size`` frames, loop-padded."""

    def __init__(self, size):
        self.size = size

    def __call__(self, frame_indices):
        return _loop_pad(list(frame_indices)[:self.size], self.size)

    def __repr__(self):
        return 'TemporalBeginCrop({})'.format(self.size)


class TemporalCenterCrop(object):
    """``size`` frames around the centre: begin = max(0, n // 2 - size // 2), loop-padded."""

    def __init__(self, size):
        self.size = size

    def __call__(self, frame_indices):
        frame_indices = list(frame_indices)
        begin = max(0, len(frame_indices) // 2 - self.size // 2)
        end = min(begin + self.size, len(frame_indices))
        return _loop_pad(frame_indices[begin:end], self.size)

    def __repr__(self):
        return 'TemporalCenterCrop({})'.format(self.size)


class TemporalRandomCrop(object):
    """Random ``size``-frame window, loop-padded (reference semantics with its off-by-one).

    begin = random.randint(0, max(0, n - size - 1)); out = frames[begin:begin + size].
    For n = 20, size = 16 the possible starts are positions 0..3 (never 4).
    """

    def __init__(self, size):
        self.size = size

    def __call__(self, frame_indices):
        frame_indices = list(frame_indices)
        rand_end = max(0, len(frame_indices) - self.size - 1)
        begin = random.randint(0, rand_end)
        end = min(begin + self.size, len(frame_indices))
        return _loop_pad(frame_indices[begin:end], self.size)

    def __repr__(self):
        return 'TemporalRandomCrop({})'.format(self.size)


class TemporalSubsampling(object):
    """Every ``stride``-th frame (NEW ``--sample_t_stride``)."""

    def __init__(self, stride):
        if stride < 1:
            raise ValueError('sample_t_stride must be >= 1, got {}'.format(stride))
        self.stride = stride

    def __call__(self, frame_indices):
        return list(frame_indices)[::self.stride]

    def __repr__(self):
        return 'TemporalSubsampling({})'.format(self.stride)


class TemporalEvenCrop(object):
    """NEW-layout validation sampling (returns a list of clips), for reference/comparison.

    stride = max(1, ceil((n - 1 - size) / (n_samples - 1))); clips start at frames[::stride],
    at most ``n_samples``; a short clip is loop-padded and ends the list. n_samples = 1 takes the
    first window (the fix of the reference's ``work`` branch).
    """

    def __init__(self, size, n_samples=1):
        self.size = size
        self.n_samples = n_samples

    def __call__(self, frame_indices):
        frame_indices = list(frame_indices)
        n = len(frame_indices)
        if self.n_samples > 1:
            stride = max(1, math.ceil((n - 1 - self.size) / (self.n_samples - 1)))
        else:
            stride = 1
        out = []
        for begin in frame_indices[::stride]:
            if len(out) >= self.n_samples:
                break
            end = min(frame_indices[-1] + 1, begin + self.size)
            sample = list(range(begin, end))
            if len(sample) < self.size:
                out.append(_loop_pad(sample, self.size))
                break
            out.append(sample)
        return out

    def __repr__(self):
        return 'TemporalEvenCrop({}, n_samples={})'.format(self.size, self.n_samples)


def _windows(frame_indices, length, step):
    """Windows of up to ``length`` frames starting at frames[:-1][::step] (OLD make_dataset).

    The reference iterates ``for j in range(1, n_frames, step)``: starts run over every frame
    except the last one. A 1-frame video (no start in the reference, so it silently had no
    clip) gets one window here.
    """
    frame_indices = list(frame_indices)
    if not frame_indices:
        raise ValueError('a video with no frames has no windows')
    starts = range(0, max(1, len(frame_indices) - 1), step)
    return [frame_indices[p:p + length] for p in starts]


def validation_windows(frame_indices, sample_duration, n_samples=3, t_stride=1):
    """OLD validation clips of one video (before LoopPadding).

    With ``n`` frames: step = max(1, ceil((n - 1 - sample_duration) / (n_samples - 1))),
    windows ``range(j, min(n + 1, j + sample_duration))`` for j in range(1, n, step).
    30 frames, 16-frame clips, 3 samples -> step 7 -> starts 1, 8, 15, 22, 29 (5 clips).

    ``t_stride`` > 1 (NEW ``sample_t_stride``) widens each window to ``sample_duration *
    t_stride`` raw frames (subsampled later by ``TemporalSubsampling``) and uses that span in the
    step formula. ``n_samples`` = 1 gives the first window only; ``n_samples`` <= 0 gives the test
    windows (stride = span), as in the reference's ``n_samples_for_each_video = 0``.
    """
    span = sample_duration * t_stride
    n = len(frame_indices)
    if n_samples > 1:
        step = max(1, int(math.ceil((n - 1 - span) / (n_samples - 1))))
    elif n_samples == 1:
        step = max(1, n)
    else:
        step = span
    return _windows(frame_indices, span, step)


def sliding_windows(frame_indices, sample_duration, stride=None, t_stride=1):
    """OLD test clips of one video (before LoopPadding): windows of ``sample_duration *
    t_stride`` raw frames starting at 1, 1 + stride, ... (< n). ``stride`` None/0 means the
    window span (non-overlapping; = sample_duration when t_stride is 1)."""
    span = sample_duration * t_stride
    if not stride:
        stride = span
    return _windows(frame_indices, span, stride)
