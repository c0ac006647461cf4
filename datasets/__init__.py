"""Datasets and transforms: what turns an annotation JSON and a frame tree into clips.

Owns the annotation reader (annotation.py), the one clip loader and its settings (loader.py, fast_clips.py,
hdf5.py), the spatial and temporal transforms, the batch normaliser (normalization.py, the one place the
normalisation flags are applied), and the getters ``get_training_set`` / ``get_validation_set`` /
``get_test_set`` that build them from the options namespace. Datasets yield uint8 clips ``C x T x H x W``.
Importing the package does not import Paddle (utils/ scripts use the loader and annotations). What each flag
does: ``main.py --help``, docs/DATA.md and docs/TRAINING.md; the data path's contracts: docs/DESIGN.md.
"""

from .annotation import SUBSET_NAMES, get_class_names, load_annotation, subset_name
from .loader import CLIP_LOADERS, ClipLoader, VideoLoader, count_frames, frame_path, pil_loader, read_n_frames_file
from .mean import get_mean, get_mean_std, get_std
from .spatial_transforms import (CenterCrop, ClipGeometry, CornerCrop, MultiScaleCornerCrop,
                                 MultiScaleRandomCrop, Normalize, RandomHorizontalFlip,
                                 RandomResizedCrop, Scale, ToTensor, transform_clip)
from . import spatial_transforms, temporal_transforms
from .temporal_transforms import (LoopPadding, TemporalCenterCrop, TemporalRandomCrop,
                                  TemporalSubsampling, sliding_windows, validation_windows)

__all__ = [
    'get_training_set', 'get_validation_set', 'get_test_set', 'build_spatial_transform',
    'build_temporal_transform', 'default_scales', 'load_annotation', 'get_class_names',
    'VideoDataset', 'VideoLoader', 'ClipLoader', 'ClipGeometry', 'get_mean', 'get_std',
    'get_mean_std', 'transform_clip', 'input_normalizer', 'normalization_values',
    'spatial_transforms', 'temporal_transforms', 'TRAIN_CROPS', 'DATASETS', 'CLIP_LOADERS',
    'DATA_FORMATS', 'SUBSET_NAMES', 'subset_name',
]

_NEEDS_PADDLE = {'VideoDataset': 'videodataset', 'input_normalizer': 'normalization',
                 'normalization_values': 'normalization', 'DATA_FORMATS': 'normalization'}


def __getattr__(name):  # the Paddle-dependent names, imported on first use
    if name in _NEEDS_PADDLE:
        import importlib
        return getattr(importlib.import_module('.' + _NEEDS_PADDLE[name], __name__), name)
    raise AttributeError('module {!r} has no attribute {!r}'.format(__name__, name))


DATASETS = ('ucf101', 'hmdb51', 'kinetics', 'activitynet')
TRAIN_CROPS = ('corner', 'center', 'random', 'multiscale_random')


def default_scales(initial_scale=1.0, n_scales=5, scale_step=0.84089641525):
    """The reference's multi-scale crop scales, by repeated multiplication
    ([1.0, 0.84089641525, 0.7071067811..., 0.5946035574..., 0.4999999999911653])."""
    scales = [initial_scale]
    for _ in range(1, n_scales):
        scales.append(scales[-1] * scale_step)
    return scales


def _norm(opt):
    from .normalization import normalization_values
    norm_value, mean, std = normalization_values(opt)
    return [ToTensor(norm_value), Normalize(mean, std)]


def _check_mode(mode):
    if mode not in ('train', 'val', 'test'):
        raise ValueError("mode must be 'train', 'val' or 'test', got {!r}".format(mode))


def build_spatial_transform(opt, mode, to_tensor=True):
    """Spatial transform (``spatial_transforms.Compose``) for 'train', 'val' or 'test'.

    ``to_tensor=False`` (what the datasets use) leaves out the final ``ToTensor`` + ``Normalize``: the
    transform then maps PIL images to PIL images and describes its geometry; with them it is the
    reference's float pipeline (``transform_clip``)."""
    _check_mode(mode)
    size = int(opt.sample_size)
    if mode == 'train':
        train_crop = getattr(opt, 'train_crop', 'corner') or 'corner'
        scales = getattr(opt, 'scales', None) or default_scales()
        if train_crop == 'corner':
            crop = MultiScaleCornerCrop(scales, size)
        elif train_crop == 'center':
            crop = MultiScaleCornerCrop(scales, size, crop_positions=['c'])
        elif train_crop == 'random':
            min_scale = getattr(opt, 'train_crop_min_scale', 0.25)
            min_ratio = getattr(opt, 'train_crop_min_ratio', 0.75)
            crop = RandomResizedCrop(size, (min_scale, 1.0), (min_ratio, 1.0 / min_ratio))
        elif train_crop == 'multiscale_random':
            crop = MultiScaleRandomCrop(scales, size)
        else:
            raise ValueError('unknown train_crop {!r}; expected one of {}'.format(
                train_crop, TRAIN_CROPS))
        transforms = [crop]
        if not getattr(opt, 'no_hflip', False):
            transforms.append(RandomHorizontalFlip())
    elif mode == 'val':
        transforms = [Scale(size), CenterCrop(size)]
    else:
        scale_in_test = getattr(opt, 'scale_in_test', 1.0) or 1.0
        position = getattr(opt, 'crop_position_in_test', 'c') or 'c'
        transforms = [Scale(int(size / scale_in_test))]
        if getattr(opt, 'inference_crop', 'center') != 'nocrop':  # nocrop: the whole scaled frame
            transforms.append(CornerCrop(size, position))
    if to_tensor:
        transforms += _norm(opt)
    return spatial_transforms.Compose(transforms)


def build_temporal_transform(opt, mode):
    """Temporal transform for 'train' (random or centre crop of ``sample_duration`` frames),
    'val' and 'test' (loop padding of the pre-cut windows); ``sample_t_stride`` > 1 prepends
    TemporalSubsampling."""
    _check_mode(mode)
    duration = int(opt.sample_duration)
    t_stride = int(getattr(opt, 'sample_t_stride', 1) or 1)
    transforms = [TemporalSubsampling(t_stride)] if t_stride > 1 else []
    if mode == 'train':
        t_crop = getattr(opt, 'train_t_crop', 'random') or 'random'
        if t_crop == 'random':
            transforms.append(TemporalRandomCrop(duration))
        elif t_crop == 'center':
            transforms.append(TemporalCenterCrop(duration))
        else:
            raise ValueError("unknown train_t_crop {!r}; expected 'random' or 'center'".format(
                t_crop))
    else:
        transforms.append(LoopPadding(duration))
    return temporal_transforms.Compose(transforms)


def _dataset(opt, subset, mode):
    from .videodataset import VideoDataset
    dataset = getattr(opt, 'dataset', 'ucf101')
    if dataset not in DATASETS:
        raise ValueError('unknown dataset {!r}; expected one of {}'.format(dataset, DATASETS))
    loader = getattr(opt, 'loader', 'fast') or 'fast'
    if loader not in CLIP_LOADERS:
        raise ValueError('unknown loader {!r}; expected one of {}'.format(loader, CLIP_LOADERS))
    return VideoDataset(
        opt.video_path, opt.annotation_path, subset, mode=mode, dataset=dataset,
        spatial_transform=build_spatial_transform(opt, mode, to_tensor=False),
        clip_loader=loader, file_type=getattr(opt, 'file_type', 'jpg') or 'jpg',
        temporal_transform=build_temporal_transform(opt, mode),
        sample_duration=opt.sample_duration,
        n_val_samples=getattr(opt, 'n_val_samples', 3),
        sample_t_stride=getattr(opt, 'sample_t_stride', 1) or 1,
        inference_stride=getattr(opt, 'inference_stride', None) or None,
        allow_missing=getattr(opt, 'allow_missing', False))


def get_training_set(opt):
    return _dataset(opt, 'training', 'train')


def get_validation_set(opt):
    return _dataset(opt, 'validation', 'val')


def get_test_set(opt):
    test_subset = getattr(opt, 'test_subset', 'val') or 'val'
    subset = subset_name(test_subset)
    if subset not in SUBSET_NAMES:
        raise ValueError("unknown test_subset {!r}; expected 'val', 'test' or 'train'".format(
            test_subset))
    return _dataset(opt, subset, 'test')
