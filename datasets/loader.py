"""Frame loading from the JPEG tree: ``<video_dir>/image_%05d.jpg``, 1-indexed.

Unlike the reference (which stopped at, or skipped, the first missing file and could return an
empty clip), a missing frame raises ``FileNotFoundError`` naming the exact file, and an
undecodable frame raises ``OSError`` naming it.
"""

import contextlib
import os
import re

from PIL import Image

__all__ = ['IMAGE_TEMPLATE', 'frame_path', 'frame_errors', 'read_frame', 'pil_loader',
           'VideoLoader', 'read_n_frames_file', 'count_frames']

IMAGE_TEMPLATE = 'image_{:05d}.jpg'
_IMAGE_RE = re.compile(r'^image_(\d+)\.jpg$')


def frame_path(video_dir, index, template=IMAGE_TEMPLATE):
    return os.path.join(video_dir, template.format(index))


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
            with Image.open(f) as img:
                return img.convert('RGB')


class VideoLoader(object):
    """``loader(video_dir, frame_indices)`` -> list of PIL RGB images, one per index.

    Repeated indices (loop padding) are decoded once per call.
    """

    def __init__(self, template=IMAGE_TEMPLATE, image_loader=pil_loader):
        self.template = template
        self.image_loader = image_loader

    def __call__(self, video_dir, frame_indices):
        cache = {}
        video = []
        for i in frame_indices:
            img = cache.get(i)
            if img is None:
                img = read_frame(self.image_loader, video_dir, i, self.template)
                cache[i] = img
            video.append(img)
        return video


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
        raise ValueError('n_frames file {} does not hold a number: {!r}'.format(path, text[:50])) \
            from None


def count_frames(video_dir):
    """Number of ``image_<digits>.jpg`` files in ``video_dir``."""
    return sum(1 for name in os.listdir(video_dir) if _IMAGE_RE.match(name))
