"""Input normalisation, x -> (x / norm_value - mean) / std per channel.

``normalization_values(opt)`` is the one source of the numbers and ``input_normalizer(opt)`` the one
place the data path applies them: the clip loader leaves every clip uint8 and the consumer
(training, validation, test.py, scripts/predict.py) normalises whole batches. The reference's
per-frame ``ToTensor`` + ``Normalize`` (spatial_transforms.py) compute the same float32 numbers.
"""

import numpy as np
import paddle

from core.layout import DATA_FORMATS, check_data_format, to_data_format
from .mean import get_mean

__all__ = ['DATA_FORMATS', 'normalization_values', 'input_normalizer']

_CHANNELS_FIRST = [0, 4, 1, 2, 3]  # a channels-last array viewed as N x C x T x H x W


def normalization_values(opt):
    """(norm_value, mean, std) of the options; optional attributes fall back to the CVPR2018
    defaults (norm_value 1, the ActivityNet mean of ``mean_dataset``, std 1)."""
    norm_value = getattr(opt, 'norm_value', 1) or 1
    mean = getattr(opt, 'mean', None)
    if mean is None:
        mean = get_mean(norm_value, getattr(opt, 'mean_dataset', 'activitynet'))
    std = getattr(opt, 'std', None)
    if std is None:
        std = [1.0, 1.0, 1.0]
    return norm_value, [float(m) for m in mean], [float(s) for s in std]


def _normalize_on_host(batch, norm_value, mean, std, channels_last):
    """uint8 CPU batch -> float32 (x / norm_value - mean) / std with numpy: paddle's CPU kernels
    take ~15 times as long here (60 ms for 8 clips of 16 x 112 x 112 on one core). The output is
    allocated in its final layout (so channels-last costs no extra pass). Both hand-offs copy (a few
    milliseconds a batch): paddle.from_dlpack, which would not, was seen to block a run forever on Paddle 3.2
    and 3.3 (the main thread waiting on a mutex of its deleter manager, now and then, on a loaded machine)."""
    pixels = batch.numpy()
    n, c = pixels.shape[:2]
    shape = (n,) + pixels.shape[2:] + (c,) if channels_last else pixels.shape
    out = np.empty(shape, np.float32)
    view = out.transpose(_CHANNELS_FIRST) if channels_last else out  # N x C x T x H x W
    stat_shape = (1, c, 1, 1, 1)
    # The float32 operations of ToTensor + Normalize (skipping divisions by 1, which change
    # nothing), so both loaders give the same numbers for the same pixels.
    values = pixels
    if norm_value != 1:
        values = np.divide(pixels, np.float32(norm_value), out=view, dtype=np.float32)
    np.subtract(values, np.asarray(mean, np.float32).reshape(stat_shape), out=view,
                dtype=np.float32)
    if any(s != 1 for s in std):
        np.divide(view, np.asarray(std, np.float32).reshape(stat_shape), out=view)
    return paddle.to_tensor(out, place=paddle.CPUPlace())


def _normalize_on_device(batch, norm_value, mean, std):
    """uint8 batch on an accelerator -> float32 (x / norm_value - mean) / std with paddle."""
    place = batch.place
    stat_shape = [1, len(mean), 1, 1, 1]
    batch = batch.astype('float32')
    if norm_value != 1:
        batch = batch / paddle.to_tensor(norm_value, dtype='float32', place=place)
    batch = batch - paddle.to_tensor(mean, dtype='float32', place=place).reshape(stat_shape)
    if any(s != 1 for s in std):
        batch = batch / paddle.to_tensor(std, dtype='float32', place=place).reshape(stat_shape)
    return batch


def input_normalizer(opt, data_format=None):
    """``normalize(batch)`` for a batch of clips N x C x T x H x W (a paddle Tensor) from the
    DataLoader: uint8 batches (every dataset's) become float32 (x / norm_value - mean) / std
    on the batch's device (on the CPU with exactly the float32 operations of ``ToTensor`` +
    ``Normalize``); a float batch is taken as already normalised and keeps its values.

    ``data_format`` (default ``opt.data_format``, else 'NCDHW'): 'NDHWC' returns the batch
    channels-last, N x T x H x W x C, for both kinds of input.
    """
    norm_value, mean, std = normalization_values(opt)
    data_format = check_data_format(data_format or getattr(opt, 'data_format', None) or 'NCDHW')

    def normalize(batch):
        if batch.dtype != paddle.uint8:  # already normalised
            return to_data_format(batch, data_format)
        if batch.place.is_cpu_place():
            return _normalize_on_host(batch, norm_value, mean, std, data_format == 'NDHWC')
        return to_data_format(_normalize_on_device(batch, norm_value, mean, std), data_format)

    return normalize
