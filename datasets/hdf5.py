"""HDF5 video storage (``--file_type hdf5``): one file per video instead of one file per frame.

Layout, the reference's (kenshohara/3D-ResNets-PyTorch, ``util_scripts/generate_video_hdf5.py`` writes it,
``datasets/loader.py`` VideoLoaderHDF5 reads it)::

    <root>/<label>/<video>.hdf5     dataset 'video': 1-D, one element per frame in order, each element
                                    the frame's JPEG file as variable-length uint8

Frame numbers stay 1-indexed as everywhere here (frame k is ``image_%05d.jpg`` k of the JPEG tree): frame k is
element k - 1. The frame count is the dataset's length (no ``n_frames`` file). ``utils/generate_video_hdf5.py``
makes the files, from videos or by copying the JPEG tree's bytes, so the decoded pixels are the JPEG tree's.

Reading is safe with DataLoader worker processes: a file is opened for each clip in the process that loads
the clip and closed before the clip is returned, so no HDF5 handle is ever shared across a fork. Files are
opened without HDF5's file locking: they are never modified once written (the converter writes a hidden
temporary file and renames it), and locking fails on many network filesystems. h5py is imported on first use.
"""
import os
import re

import numpy as np

from core.errors import BadInput, MissingInput

__all__ = ['FILE_TYPES', 'HDF5_SUFFIX', 'DATASET_NAME', 'video_file', 'frame_count', 'stored_frame_numbers',
           'Hdf5FrameBytes', 'write_video']

FILE_TYPES = ('jpg', 'hdf5')  # --file_type
HDF5_SUFFIX = '.hdf5'
DATASET_NAME = 'video'
# how HDF5 quotes the system's error in the text of a failed write
_ERRNO = re.compile(r'errno = (\d+)')


def _h5py():
    try:
        import h5py
    except ImportError:
        raise BadInput('--file_type hdf5 needs h5py: pip install h5py (it is in requirements.txt)') from None
    return h5py


def _open(path):
    h5py = _h5py()
    try:
        return h5py.File(path, 'r', locking=False)
    except FileNotFoundError:
        raise MissingInput('HDF5 video not found: {}'.format(path)) from None
    except OSError as e:
        raise BadInput('cannot open HDF5 video {}: {} (a broken or unfinished file: convert it again with '
                       'utils/generate_video_hdf5.py --overwrite)'.format(path, e)) from None


def _frames(f, path):
    """The 'video' dataset of an open file, checked to be what the reference's layout holds."""
    video = f.get(DATASET_NAME)
    if video is None or not hasattr(video, 'shape') or len(video.shape) != 1:
        raise BadInput("{} holds no 1-D dataset '{}' (found: {}); it is not a video written by "
                       'utils/generate_video_hdf5.py'.format(path, DATASET_NAME, ', '.join(f.keys()) or 'nothing'))
    return video


def video_file(base):
    """The HDF5 file of the video whose JPEG folder would be ``base`` (``<root>/<label>/<video>``)."""
    return base if base.endswith(HDF5_SUFFIX) else base + HDF5_SUFFIX


def frame_count(path):
    """Number of frames of the HDF5 video ``path`` (its dataset's length, as the reference counts them)."""
    with _open(path) as f:
        return len(_frames(f, path))


def stored_frame_numbers(base):
    """(highest frame number, number of frames) of the video ``base`` in either storage: the JPEG folder
    ``base/`` (``loader.frame_numbers``) or else ``base.hdf5``; None if neither exists."""
    from .loader import frame_numbers
    found = frame_numbers(base)
    if found is None and os.path.isfile(video_file(base)):
        n = frame_count(video_file(base))
        return n, n
    return found


class Hdf5FrameBytes(object):
    """``ClipLoader``'s ``frame_bytes`` for HDF5 videos: ``(path, frame numbers)`` -> {number: JPEG bytes}.

    Opens the file for each call (in the calling process, so DataLoader workers each open their own) and
    reads only the distinct frames asked for. A frame number outside the video raises FileNotFoundError
    naming the file, like a missing JPEG."""

    def __call__(self, path, frame_indices):
        with _open(path) as f:
            video = _frames(f, path)
            n = len(video)
            wanted = sorted(set(frame_indices))
            outside = [index for index in wanted if not 1 <= index <= n]
            if outside:
                raise FileNotFoundError('missing frame: frame {} of {}, which holds {} frames'.format(
                    outside[0], path, n))
            # one read for the whole clip (a few times faster than element by element)
            elements = video[[index - 1 for index in wanted]]
        return {index: element.tobytes() for index, element in zip(wanted, elements)}


def write_video(path, frames):
    """Write the HDF5 video ``path`` from ``frames`` (the JPEG files' bytes, frame 1 first) in the reference's
    layout. Writes the file at ``path`` directly: callers that need a crash-safe result write to a temporary
    name and rename it (utils/generate_video_hdf5.py)."""
    h5py = _h5py()
    if not frames:
        raise ValueError('a video needs at least one frame: {}'.format(path))
    data = np.empty(len(frames), dtype=object)
    for i, jpeg in enumerate(frames):
        data[i] = np.frombuffer(jpeg, dtype=np.uint8)
    try:
        with h5py.File(path, 'w', locking=False) as f:
            f.create_dataset(DATASET_NAME, data=data, dtype=h5py.vlen_dtype(np.uint8))
    except (OSError, RuntimeError) as e:
        # h5py reports a failed write (a full disk, a file size limit) as RuntimeError or an OSError without
        # errno, the system's error only in its text: give it back as that OSError, so callers tell a disk
        # that stops the run from a bad video
        found = _ERRNO.search(str(e))
        if found is None or not int(found.group(1)):
            raise
        code = int(found.group(1))
        raise OSError(code, os.strerror(code), path) from None
    return len(frames)
