"""The frame tree and the one clip loader: ``<video_dir>/image_%05d.jpg`` (1-indexed) -> uint8 clip.

Conventions of the JPEG tree, shared with utils/ (importable without Paddle): ``IMAGE_TEMPLATE``,
``FRAME_PATTERN``, ``FRAME_NAME``, ``frame_path``, ``count_frames``, ``read_n_frames_file``.

``ClipLoader(mode)`` turns frame numbers into a uint8 clip ``C x T x H x W`` through a spatial
transform whose parameters are drawn once per clip (``randomize_parameters()``); the consumer
normalises whole batches (``datasets.input_normalizer``). ``mode`` is ``--loader``:

* 'fast' (default): each JPEG is cropped and resized in one step from the transform's geometry
  (fast_clips.py), full-size decode: the reference's pixels;
* 'fast_draft': 'fast' decoding JPEGs at reduced size where the output keeps its resolution
  (faster, other pixels);
* 'pil': the reference's per-frame pipeline, each frame opened and transformed by PIL, used by the
  benchmark and the equivalence tests (a transform without geometry, or a custom ``video_loader``,
  also takes this path).

Frames kept elsewhere than in a JPEG tree (``--file_type hdf5``: datasets/hdf5.py) reach the same decoders as
bytes (``ClipLoader(frame_bytes=...)``), so their pixels are the JPEG tree's for the same JPEG files.

Unlike the reference (which stopped at, or skipped, the first missing file and could return an
empty clip), a missing frame raises ``FileNotFoundError`` naming the exact file, and an
undecodable frame raises ``OSError`` naming it.
"""

import contextlib
import io
import os
import re

import numpy as np
from PIL import Image

from core.errors import BadInput
from .fast_clips import ClipFrameReader
from .spatial_transforms import describes_geometry

__all__ = ['IMAGE_TEMPLATE', 'FRAME_PATTERN', 'FRAME_NAME', 'CLIP_LOADERS', 'frame_path', 'frame_errors', 'read_frame',
           'pil_loader', 'VideoLoader', 'ClipLoader', 'read_n_frames_file', 'count_frames', 'frame_numbers']

IMAGE_TEMPLATE = 'image_{:05d}.jpg'  # frame 1 is image_00001.jpg
FRAME_PATTERN = IMAGE_TEMPLATE.replace('{:05d}', '%05d')  # the same in printf style (ffmpeg's output name)
FRAME_NAME = re.compile(r'^image_(\d+)\.jpg$')  # any frame's file name
CLIP_LOADERS = ('fast', 'pil', 'fast_draft')  # --loader


def frame_path(video_dir, index, template=IMAGE_TEMPLATE):
    return os.path.join(video_dir, template.format(index))


def frame_numbers(video_dir):
    """(highest frame number, number of frame files) of a frames folder, None if it does not exist. The
    highest number is the video's frame count everywhere (n_frames files, JSON segments, datasets), as the
    reference's n_frames; a gap (fewer files) is reported by the tools and fails loudly when read."""
    try:
        names = os.listdir(video_dir)
    except (FileNotFoundError, NotADirectoryError):
        return None
    numbers = [int(m.group(1)) for m in map(FRAME_NAME.match, names) if m]
    return (max(numbers) if numbers else 0), len(numbers)


def count_frames(video_dir):
    """Number of ``image_<digits>.jpg`` files in ``video_dir`` (None if the folder does not exist)."""
    try:
        names = os.listdir(video_dir)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return sum(1 for name in names if FRAME_NAME.match(name))


def read_n_frames_file(video_dir):
    """Integer in ``<video_dir>/n_frames`` (reference: int(float(text))), or None if absent."""
    path = os.path.join(video_dir, 'n_frames')
    try:
        with open(path, 'r') as f:
            text = f.read().strip()
    except FileNotFoundError:
        return None
    try:
        return int(float(text))
    except ValueError:
        raise BadInput('n_frames file {} does not hold a number: {!r}'.format(path, text[:50])) from None


@contextlib.contextmanager
def frame_errors(path):
    """Re-raise the errors of reading the image ``path`` as FileNotFoundError / OSError naming it."""
    try:
        yield
    except FileNotFoundError:
        raise FileNotFoundError('missing frame: {}'.format(path)) from None
    except OSError as e:  # includes PIL.UnidentifiedImageError, truncated files
        raise OSError('cannot read frame {}: {}'.format(path, e)) from e


def read_frame(image_loader, video_dir, index, template=IMAGE_TEMPLATE):
    """``image_loader(path)`` for frame ``index`` of ``video_dir``; a missing file is reported
    with the frame number and the folder."""
    path = frame_path(video_dir, index, template)
    try:
        return image_loader(path)
    except FileNotFoundError:
        raise FileNotFoundError('missing frame: {} (frame {} of video folder {})'
                                .format(path, index, video_dir)) from None


def pil_loader(path):
    """Open one image as RGB. FileNotFoundError / OSError name the file."""
    with frame_errors(path):
        with open(path, 'rb') as f:
            return rgb_image(f)


def rgb_image(source):
    """The image in ``source`` (a path or a binary file object) as an RGB PIL image."""
    with Image.open(source) as img:
        return img.convert('RGB')


class VideoLoader(object):
    """``loader(video_dir, frame_indices)`` -> list of PIL RGB images, one per index (the reference's).

    Repeated indices (loop padding) are decoded once per call.
    """

    def __init__(self, template=IMAGE_TEMPLATE, image_loader=pil_loader):
        self.template = template
        self.image_loader = image_loader

    def __call__(self, video_dir, frame_indices):
        cache = {}
        for i in frame_indices:
            if i not in cache:
                cache[i] = read_frame(self.image_loader, video_dir, i, self.template)
        return [cache[i] for i in frame_indices]


def frame_pixels(spatial_transform, img):
    """H x W x 3 uint8 pixels of one PIL frame after ``spatial_transform`` (PIL image -> PIL image)."""
    out = spatial_transform(img) if spatial_transform is not None else img
    if not isinstance(out, Image.Image):
        raise TypeError('the spatial transform must map PIL images to PIL images (got {}); the clips stay uint8 '
                        'and datasets.input_normalizer normalises the batches, so leave out ToTensor and '
                        'Normalize (build_spatial_transform(..., to_tensor=False))'.format(type(out).__name__))
    return np.asarray(out.convert('RGB'))


class ClipLoader(object):
    """``loader(video_dir, frame_indices, spatial_transform)`` -> uint8 clip C x T x H x W.

    ``mode``: 'fast', 'fast_draft' or 'pil' (module docstring). Like ``transform_clip``, the loader
    calls the transform's ``randomize_parameters()`` once per clip, so every mode draws the same
    random numbers. ``video_loader``: a custom ``VideoLoader``-like frame source (PIL path).
    ``frame_bytes``: where the frames are when they are not files of a JPEG tree: ``frame_bytes(video,
    distinct frame indices)`` -> {index: JPEG bytes} (datasets/hdf5.py); they are decoded exactly as the
    files would be.
    """

    def __init__(self, mode='fast', template=IMAGE_TEMPLATE, video_loader=None, frame_bytes=None):
        if mode not in CLIP_LOADERS:
            raise ValueError('unknown loader {!r}; expected one of {}'.format(mode, CLIP_LOADERS))
        self.mode = mode
        self.template = template
        self.video_loader = video_loader
        self.frame_bytes = frame_bytes

    def uses_geometry(self, spatial_transform):
        """True where frames are cut and resized in one step (not the per-frame PIL pipeline)."""
        return self.mode != 'pil' and self.video_loader is None and describes_geometry(spatial_transform)

    def __call__(self, video_dir, frame_indices, spatial_transform):
        frame_indices = list(frame_indices)
        if not frame_indices:
            raise ValueError('cannot load an empty clip of video folder {}'.format(video_dir))
        if spatial_transform is not None:
            spatial_transform.randomize_parameters()
        pixels = self._frame_source(video_dir, frame_indices, spatial_transform)
        clip, first_slot = None, {}
        for t, index in enumerate(frame_indices):
            if index in first_slot:  # loop padding: each distinct frame is decoded once
                clip[:, t] = clip[:, first_slot[index]]
                continue
            frame = pixels(index)
            if clip is None:
                clip = np.empty((frame.shape[2], len(frame_indices)) + frame.shape[:2], np.uint8)
            clip[:, t] = frame.transpose(2, 0, 1)
            first_slot[index] = t
        return clip

    def _frame_source(self, video_dir, frame_indices, spatial_transform):
        """``pixels(frame index)`` -> H x W x 3 uint8 of that frame, transformed."""
        if self.video_loader is not None:
            images = dict(zip(frame_indices, self.video_loader(video_dir, frame_indices)))
            return lambda index: frame_pixels(spatial_transform, images[index])
        if self.frame_bytes is not None:
            return self._bytes_source(video_dir, frame_indices, spatial_transform)
        if self.uses_geometry(spatial_transform):
            one_step = ClipFrameReader(spatial_transform, draft=self.mode == 'fast_draft')

            def reader(path):
                with frame_errors(path):
                    return one_step(path)
        else:
            def reader(path):
                return frame_pixels(spatial_transform, pil_loader(path))
        return lambda index: read_frame(reader, video_dir, index, self.template)

    def _bytes_source(self, video, frame_indices, spatial_transform):
        """``pixels(frame index)`` for frames given as JPEG bytes, through the same decoders as the files."""
        data = self.frame_bytes(video, sorted(set(frame_indices)))
        if self.uses_geometry(spatial_transform):
            decode = ClipFrameReader(spatial_transform, draft=self.mode == 'fast_draft').pixels
        else:
            def decode(jpeg):
                return frame_pixels(spatial_transform, rgb_image(io.BytesIO(jpeg)))

        def pixels(index):
            with frame_errors('{} (frame {})'.format(video, index)):
                return decode(data[index])
        return pixels
