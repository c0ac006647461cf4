"""Video datasets over the JPEG-frame tree (or HDF5 videos) and an ActivityNet-style JSON annotation.

Layout: ``<root>/<label>/<video_id>/image_00001.jpg ...`` (+ optional ``n_frames`` file);
Kinetics ``testing`` videos live in ``<root>/test/<video_id>``, ActivityNet videos in
``<root>/v_<video_id>``; a database entry's own ``video_path`` (NEW layout) wins. With
``file_type='hdf5'`` (``--file_type hdf5``) each of these folders is a file ``<folder>.hdf5`` of JPEG bytes
(datasets/hdf5.py; the reference's layout), decoded exactly as the JPEG files; its frame count is the JSON
segment, else the file's length.

Sampling follows the reference's OLD (CVPR2018) ``make_dataset``:

* ``mode='train'``: one sample per video with all its frame numbers (the temporal transform
  then draws the clip);
* ``mode='val'``: the OLD validation windows (``validation_windows``), usually 3 per video;
* ``mode='test'``: non-overlapping windows from frame 1 (``sliding_windows``); the target is the
  video's index into ``dataset.video_ids``.

Clips come from the one clip loader (``loader.ClipLoader``) as uint8 ``C x T x H x W``, whatever its
setting (``clip_loader``): 'fast', 'fast_draft' or 'pil' (the reference's per-frame pipeline); the
consumer normalises batches with ``input_normalizer``. The spatial transform maps PIL images to PIL
images (``build_spatial_transform(..., to_tensor=False)``).

Errors are loud: a video folder that does not exist or holds no frames is reported at
construction (``allow_missing=True`` skips such videos and lists them in
``dataset.missing_videos``), a label that is not in ``labels`` names the annotation file, and a
missing frame at load time raises ``FileNotFoundError`` naming the file. Nothing is retried with
another sample.
"""

import math
import os
import sys

import numpy as np
import paddle

from core.errors import BadInput, MissingInput
from .annotation import SUBSET_NAMES, check_segment, check_subset, get_class_names, load_annotation
from .hdf5 import FILE_TYPES, HDF5_SUFFIX, Hdf5FrameBytes, frame_count, video_file
from .loader import CLIP_LOADERS, ClipLoader, frame_numbers, frame_path, read_n_frames_file
from .temporal_transforms import sliding_windows, validation_windows

__all__ = ['VideoDataset']

def _json_segment(annotations, key, annotation_path):
    """The entry's ``segment`` (begin, end) in frames, checked; None when it has none."""
    segment = annotations.get('segment') if isinstance(annotations, dict) else None
    if segment is None:
        return None
    begin, end = check_segment(segment, key, annotation_path)
    return int(begin), int(end)


def _frame_range(video_dir, annotations, key='?', annotation_path='<annotation>'):
    """(first frame number, number of frames): the ``n_frames`` file, else the JSON segment
    ``[begin, end)`` (NEW layout), else the count of ``image_*.jpg`` files."""
    n = read_n_frames_file(video_dir)
    if n is not None:
        return 1, n, 'n_frames file {}'.format(os.path.join(video_dir, 'n_frames'))
    segment = _json_segment(annotations, key, annotation_path)
    if segment is not None:
        begin, end = segment
        return begin, end - begin, 'JSON segment {}'.format(list(segment))
    n = (frame_numbers(video_dir) or (0, 0))[0]
    return 1, n, ('no image_*.jpg files' if n == 0 else 'highest image_*.jpg number')


def _hdf5_frame_range(path, annotations, key='?', annotation_path='<annotation>'):
    """(first frame number, number of frames, source, frames in the file) of an HDF5 video: the JSON segment
    (the reference's Kinetics HDF5 JSON counts from 0, [0, n): shifted to our 1-based numbers), else the
    file's length."""
    stored = frame_count(path)
    segment = _json_segment(annotations, key, annotation_path)
    if segment is not None:
        begin, end = segment
        shift = 1 if begin == 0 else 0
        return begin + shift, end - begin, 'JSON segment {}'.format(list(segment)), stored
    return 1, stored, 'length of {}'.format(path), stored


def _video_fps(video_dir, value):
    if 'fps' in value:
        return float(value['fps'])
    path = os.path.join(video_dir, 'fps')
    try:
        with open(path) as f:
            return float(f.read().strip())
    except FileNotFoundError:
        raise MissingInput('ActivityNet video {} needs a frame rate: no "fps" in its JSON '
                                'entry and no file {}'.format(video_dir, path)) from None


def _check_arguments(mode, target_type, clip_loader, subset, file_type):
    if mode not in ('train', 'val', 'test'):
        raise ValueError("mode must be 'train', 'val' or 'test', got {!r}".format(mode))
    if target_type not in (None, 'label', 'video_index'):
        raise ValueError("target_type must be 'label' or 'video_index', got {!r}".format(target_type))
    if clip_loader not in CLIP_LOADERS:
        raise ValueError('clip_loader must be one of {}, got {!r}'.format(CLIP_LOADERS, clip_loader))
    if file_type not in FILE_TYPES:
        raise ValueError('file_type must be one of {}, got {!r}'.format(FILE_TYPES, file_type))
    if subset not in SUBSET_NAMES:
        raise ValueError('unknown subset {!r}; expected one of {}'.format(subset, sorted(SUBSET_NAMES)))


class VideoDataset(paddle.io.Dataset):
    """Clips of JPEG-frame videos; ``__getitem__`` returns ``(clip, target)``.

    ``clip``: uint8 numpy array C x T x H x W (normalised per batch by ``input_normalizer``). ``target``: ``np.int64`` class index
    (``target_type='label'``, default for train/val) or the video's index into ``video_ids``
    (``'video_index'``, default for test).

    Attributes: ``class_names``, ``samples`` (dicts with 'video', 'video_id', 'video_index',
    'label', 'segment', 'n_frames', 'frame_indices'), ``video_ids``, ``video_labels`` (-1 when
    unknown), ``video_paths``, ``n_clips_per_video``, ``missing_videos`` (folders skipped with
    ``allow_missing``), ``subset``, ``mode``, ``clip_loader`` (the loader's setting: 'fast',
    'fast_draft' or 'pil'), ``file_type`` ('jpg' or 'hdf5'), ``clip_dtype`` (uint8).
    """

    def __init__(self, root_path, annotation_path, subset, mode='train', dataset='ucf101',
                 spatial_transform=None, temporal_transform=None, sample_duration=16,
                 n_val_samples=3, sample_t_stride=1, inference_stride=None,
                 allow_missing=False, target_type=None, video_loader=None, clip_loader='pil',
                 file_type='jpg'):
        super().__init__()
        _check_arguments(mode, target_type, clip_loader, subset, file_type)
        self.root_path = os.fspath(root_path)
        self.annotation_path = os.fspath(annotation_path)
        self.subset = SUBSET_NAMES[subset]
        self.mode = mode
        self.dataset = dataset
        self.target_type = target_type or ('video_index' if mode == 'test' else 'label')
        self.sample_duration = int(sample_duration)
        self.n_val_samples = int(n_val_samples)
        self.sample_t_stride = int(sample_t_stride or 1)
        self.inference_stride = inference_stride or None
        self.allow_missing = allow_missing
        self.spatial_transform = spatial_transform
        self.temporal_transform = temporal_transform
        self.file_type = file_type
        self.loader = ClipLoader(clip_loader, video_loader=video_loader,
                                 frame_bytes=Hdf5FrameBytes() if file_type == 'hdf5' else None)
        self.clip_loader = clip_loader
        self.clip_dtype = np.uint8
        if not os.path.isdir(self.root_path):
            maker = 'generate_video_hdf5.py' if file_type == 'hdf5' else 'video_jpg_ucf101_hmdb51.py'
            raise MissingInput('video root folder not found: {} (check --root_path and --video_path; '
                               'utils/{} writes it)'.format(self.root_path, maker))
        self._read_annotation()

    def _read_annotation(self):
        data = load_annotation(self.annotation_path)
        self.class_names = get_class_names(data, self.annotation_path)
        self.class_to_idx = {name: i for i, name in enumerate(self.class_names)}
        self.samples, self.video_ids, self.video_labels, self.video_paths = [], [], [], []
        self.n_clips_per_video, self.missing_videos = [], []
        self.short_n_frames = []  # (video id, folder, n_frames) where the folder holds frame n_frames + 1
        n_in_subset = 0
        for key, value in data['database'].items():
            if not isinstance(value, dict) or 'subset' not in value:
                raise BadInput('annotation file {}: database entry {!r} has no "subset"'.format(
                    self.annotation_path, key))
            if check_subset(value['subset'], key, self.annotation_path) == self.subset:
                n_in_subset += 1
                self._add_video(key, value)
        if n_in_subset == 0:
            raise BadInput('annotation file {} has no videos of subset {!r}'.format(
                self.annotation_path, self.subset))
        self._warn_short_n_frames()
        if not self.video_ids:
            raise MissingInput(
                'none of the {} {!r} videos of {} was found under {} (e.g. {})'.format(
                    n_in_subset, self.subset, self.annotation_path, self.root_path,
                    self.missing_videos[0] if self.missing_videos else '?'))

    # ------------------------------------------------------------------ construction
    def _warn_short_n_frames(self):
        """One warning line for the videos whose n_frames file says fewer frames than the folder holds
        (an n_frames written before the extraction finished, or copied from another video)."""
        if not self.short_n_frames:
            return
        key, folder, n = self.short_n_frames[0]
        found = (frame_numbers(folder) or (n, n))[0]
        more = len(self.short_n_frames) - 1
        print('warning: {} says {} frames, but the folder holds frames up to {} (video {!r}, subset {!r}){}; '
              'only the first n_frames frames are used: rewrite the n_frames files with '
              'utils/n_frames_ucf101_hmdb51.py'.format(
                  os.path.join(folder, 'n_frames'), n, found, key, self.subset,
                  ' and {} more video{} like it'.format(more, 's' if more > 1 else '') if more else ''),
              file=sys.stderr, flush=True)

    def _label_index(self, key, annotations):
        name = annotations.get('label') if isinstance(annotations, dict) else None
        if name is None:
            if self.target_type == 'label':
                raise BadInput('annotation file {}: video {!r} of subset {!r} has no label, '
                               'but the {} set needs class targets'.format(
                                   self.annotation_path, key, self.subset, self.mode))
            return -1, None
        if name not in self.class_to_idx:
            raise BadInput('annotation file {}: video {!r} has label {!r}, which is not in its '
                           '"labels" list'.format(self.annotation_path, key, name))
        return self.class_to_idx[name], name

    def _video_dir(self, key, label_name, value):
        """The video's JPEG folder, or its .hdf5 file."""
        path = self._jpeg_dir(key, label_name, value)
        return video_file(path) if self.file_type == 'hdf5' else path

    def _jpeg_dir(self, key, label_name, value):
        if 'video_path' in value:
            path = os.fspath(value['video_path'])
            return path if os.path.isabs(path) else os.path.join(self.root_path, path)
        if self.dataset == 'activitynet':
            path = os.path.join(self.root_path, 'v_' + key)
            exists = os.path.isfile(video_file(path)) if self.file_type == 'hdf5' else os.path.isdir(path)
            return path if exists else os.path.join(self.root_path, key)
        if label_name is None:
            # unlabelled (testing) videos: Kinetics keeps them in <root>/test/
            sub = 'test' if self.dataset == 'kinetics' else ''
            return os.path.join(self.root_path, sub, key) if sub else os.path.join(self.root_path, key)
        return os.path.join(self.root_path, label_name, key)

    def _skip_or_raise(self, video_dir, message):
        if self.allow_missing:
            self.missing_videos.append(video_dir)
            return
        raise MissingInput(message + ' (pass allow_missing=True / --allow_missing to skip '
                                     'such videos)')

    def _segment_ranges(self, key, value, annotations, video_dir):
        """Trimmed ActivityNet: (label, first frame, frame count) per annotated segment (the
        reference's make_dataset); None (and the video skipped or reported) when none has frames."""
        fps = _video_fps(video_dir, value)
        ranges = []
        for ann in annotations:
            if not isinstance(ann, dict) or 'segment' not in ann:
                raise BadInput('annotation file {}: video {!r} has the annotation {}; expected {{"label": ..., '
                               '"segment": [begin, end]}} (seconds)'.format(self.annotation_path, key, ann))
            lab, _ = self._label_index(key, ann)
            first, last = check_segment(ann['segment'], key, self.annotation_path, unit='seconds')
            begin = max(1, int(math.ceil(first * fps)))
            end = int(math.ceil(last * fps))
            if end > begin:
                ranges.append((lab, begin, end - begin))
        if not ranges:
            return self._skip_or_raise(video_dir, 'video {} has no segment with frames '
                                       '(video {!r})'.format(video_dir, key))
        return ranges

    def _frames_range(self, key, label, annotations, video_dir):
        """[(label, first frame, frame count)] of the video's frames; None (and the video skipped or
        reported) when it has none or its first or last frame is missing."""
        if self.file_type == 'hdf5':
            return self._hdf5_range(key, label, annotations, video_dir)
        begin, n, source = _frame_range(video_dir, annotations, key, self.annotation_path)
        if source.startswith('n_frames file') and n > 0 and os.path.isfile(frame_path(video_dir, begin + n)):
            self.short_n_frames.append((key, video_dir, n))
        if n <= 0:
            return self._skip_or_raise(video_dir, 'video folder {} has no frames ({}; video '
                                       '{!r})'.format(video_dir, source, key))
        # Cheap consistency check (two stats per video): the first and the last frame of the
        # range exist, so a truncated extraction fails here and not hours into training.
        for i in (begin, begin + n - 1):
            path = frame_path(video_dir, i)
            if not os.path.isfile(path):
                return self._skip_or_raise(video_dir, 'video folder {} lacks frame {} ({} '
                                           'frames expected from {}; video {!r})'.format(
                                               video_dir, path, n, source, key))
        return [(label, begin, n)]

    def _other_storage_hint(self, path):
        """Where the video exists in the other storage: the --file_type that reads it."""
        if self.file_type == 'hdf5' and os.path.isdir(path[:-len(HDF5_SUFFIX)]):
            return '; {} is a JPEG frames folder: pass --file_type jpg'.format(path[:-len(HDF5_SUFFIX)])
        if self.file_type == 'jpg' and os.path.isfile(video_file(path)):
            return '; {} is an HDF5 video: pass --file_type hdf5'.format(video_file(path))
        return ''

    def _hdf5_range(self, key, label, annotations, path):
        """``_frames_range`` of an HDF5 video: the range must lie within the file's frames."""
        begin, n, source, stored = _hdf5_frame_range(path, annotations, key, self.annotation_path)
        if n <= 0:
            return self._skip_or_raise(path, 'HDF5 video {} has no frames ({}; video {!r})'.format(path, source, key))
        if begin < 1 or begin + n - 1 > stored:
            return self._skip_or_raise(path, 'HDF5 video {} holds {} frames, but {} asks for frames {}..{} '
                                             '(video {!r})'.format(path, stored, source, begin, begin + n - 1, key))
        return [(label, begin, n)]

    def _windows(self, frames):
        if self.mode == 'train':
            return [frames]
        if self.mode == 'val':
            return validation_windows(frames, self.sample_duration, self.n_val_samples, self.sample_t_stride)
        return sliding_windows(frames, self.sample_duration, self.inference_stride, self.sample_t_stride)

    def _add_video(self, key, value):
        annotations = value.get('annotations', {})
        segments = isinstance(annotations, list)  # ActivityNet: list of labelled segments in seconds
        label, label_name = self._label_index(key, (annotations[0] if annotations else {}) if segments
                                              else annotations)
        video_dir = self._video_dir(key, label_name, value)
        if not (os.path.isfile(video_dir) if self.file_type == 'hdf5' else os.path.isdir(video_dir)):
            return self._skip_or_raise(video_dir, '{} not found: {} (video {!r}, subset {!r} of {}){}'.format(
                'HDF5 video' if self.file_type == 'hdf5' else 'video folder', video_dir, key, self.subset,
                self.annotation_path, self._other_storage_hint(video_dir)))
        if not segments:
            _json_segment(annotations, key, self.annotation_path)  # a malformed segment is named, whatever is read
        if segments and annotations and self.mode != 'test':
            ranges = self._segment_ranges(key, value, annotations, video_dir)
        else:
            ranges = self._frames_range(key, label, annotations, video_dir)
        if ranges is None:
            return
        video_index = len(self.video_ids)
        self.video_ids.append(key)
        self.video_labels.append(label)
        self.video_paths.append(video_dir)
        n_clips = 0
        for lab, begin, n in ranges:
            base = {'video': video_dir, 'video_id': key, 'video_index': video_index,
                    'label': lab, 'segment': [begin, begin + n], 'n_frames': n}
            windows = self._windows(list(range(begin, begin + n)))
            self.samples.extend(dict(base, frame_indices=w) for w in windows)
            n_clips += len(windows)
        self.n_clips_per_video.append(n_clips)

    # ------------------------------------------------------------------ access
    def __len__(self):
        return len(self.samples)

    def load_clip(self, index):
        """The transformed uint8 clip (C x T x H x W) of sample ``index``."""
        sample = self.samples[index]
        frame_indices = list(sample['frame_indices'])
        if self.temporal_transform is not None:
            frame_indices = self.temporal_transform(frame_indices)
        return self.loader(sample['video'], frame_indices, self.spatial_transform)

    def get_target(self, index):
        sample = self.samples[index]
        if self.target_type == 'video_index':
            return np.int64(sample['video_index'])
        return np.int64(sample['label'])

    def __getitem__(self, index):
        return self.load_clip(index), self.get_target(index)

    def __repr__(self):
        return ('{}(subset={!r}, mode={!r}, videos={}, samples={}, classes={}, missing={})'
                .format(type(self).__name__, self.subset, self.mode, len(self.video_ids),
                        len(self.samples), len(self.class_names), len(self.missing_videos)))
