"""Spatial transforms on PIL images (one frame at a time), reference semantics.

Every transform has ``randomize_parameters()``; a clip calls it ONCE (see ``transform_clip``)
so the same crop / flip applies to all its frames. Random draws use Python's ``random``.

``ToTensor`` turns a PIL image (or an H x W x C array) into a float32 numpy array C x H x W
divided by ``norm_value`` (1 -> values in [0, 255], the CVPR2018 default); ``Normalize`` then
computes (x - mean) / std per channel.

The geometric transforms (crops, resizes, the flip) also describe what they do without touching
pixels: ``geometry(view)`` maps a ``ClipGeometry`` (where the current image comes from in the
source frame) to the one after the transform, with the parameters of the last
``randomize_parameters()``. The fast clip loader (``fast_clips.py``) uses it to crop and resize
each frame in one step. ``ToTensor`` and ``Normalize`` have no geometry.
"""

import math
import numbers
import random

import numpy as np
from PIL import Image

__all__ = [
    'Compose', 'ToTensor', 'Normalize', 'Scale', 'Resize', 'CenterCrop', 'CornerCrop',
    'RandomHorizontalFlip', 'MultiScaleCornerCrop', 'MultiScaleRandomCrop', 'RandomResizedCrop',
    'transform_clip', 'ClipGeometry', 'describes_geometry', 'BILINEAR', 'CROP_POSITIONS',
]

BILINEAR = getattr(Image, 'Resampling', Image).BILINEAR
_FLIP_LEFT_RIGHT = getattr(Image, 'Transpose', Image).FLIP_LEFT_RIGHT
CROP_POSITIONS = ['c', 'tl', 'tr', 'bl', 'br']


class ClipGeometry(object):
    """Where the pixels of a transformed frame come from, in source-frame coordinates.

    ``box``: the source region (x0, y0, x1, y1), floats, that the image spans; ``size``: the image's
    (width, height); ``flip``: the image is mirrored left-right; ``domain``: the source region a
    resize of the image may read. PIL's resize samples beyond its box up to the edges of the image
    it resizes, so after a crop (and before any resize) the domain is the crop: the pixels around
    it no longer exist. ``resampled`` tells whether a resize has happened yet.
    """

    __slots__ = ('box', 'size', 'flip', 'domain', 'resampled')

    def __init__(self, box, size, flip=False, domain=None, resampled=False):
        self.box = tuple(box)
        self.size = tuple(size)
        self.flip = flip
        self.domain = self.box if domain is None else tuple(domain)
        self.resampled = resampled

    @classmethod
    def whole(cls, width, height):
        """The untransformed frame of ``width`` x ``height`` pixels."""
        return cls((0, 0, width, height), (width, height))

    def crop(self, x1, y1, x2, y2):
        """The image cropped to the box (x1, y1, x2, y2) in its own pixel coordinates."""
        width, height = self.size
        if self.flip:  # a box on the mirrored image is the mirrored box on the unmirrored one
            x1, x2 = width - x2, width - x1
        bx0, by0, bx1, by1 = self.box
        box = (_lerp(bx0, bx1, x1 / width), _lerp(by0, by1, y1 / height),
               _lerp(bx0, bx1, x2 / width), _lerp(by0, by1, y2 / height))
        domain = self.domain if self.resampled else box
        return ClipGeometry(box, (x2 - x1, y2 - y1), self.flip, domain, self.resampled)

    def resize(self, width, height):
        return ClipGeometry(self.box, (width, height), self.flip, self.domain, True)

    def mirrored(self):
        return ClipGeometry(self.box, self.size, not self.flip, self.domain, self.resampled)

    def inside(self, width, height):
        """True if the image uses only pixels of a ``width`` x ``height`` source (a crop larger
        than its image pads with black instead)."""
        return all(0 <= x0 <= x1 <= width and 0 <= y0 <= y1 <= height
                   for x0, y0, x1, y1 in (self.box, self.domain))

    def __eq__(self, other):
        return isinstance(other, ClipGeometry) and all(
            getattr(self, k) == getattr(other, k) for k in self.__slots__)

    def __repr__(self):
        return 'ClipGeometry(box={}, size={}, flip={}, domain={})'.format(
            self.box, self.size, self.flip, self.domain)


def _lerp(a, b, t):
    # exact at t = 0 and t = 1, so a crop reaching an edge of its image ends on the source's edge
    return a * (1 - t) + b * t


def describes_geometry(transform):
    """True if ``transform`` (a ``Compose`` or a single transform) can say where its output
    pixels come from, i.e. every part of it has ``geometry()``."""
    if isinstance(transform, Compose):
        return all(describes_geometry(t) for t in transform.transforms)
    return hasattr(transform, 'geometry')


class Compose(object):
    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def randomize_parameters(self):
        for t in self.transforms:
            t.randomize_parameters()

    def geometry(self, view):
        for t in self.transforms:
            view = t.geometry(view)
        return view

    def __repr__(self):
        return 'Compose([{}])'.format(', '.join(repr(t) for t in self.transforms))


class _Deterministic(object):
    def randomize_parameters(self):
        pass


class ToTensor(_Deterministic):
    """PIL image / H x W x C array -> float32 C x H x W array divided by ``norm_value``."""

    def __init__(self, norm_value=255):
        self.norm_value = norm_value

    def __call__(self, pic):
        if isinstance(pic, Image.Image):
            if pic.mode != 'RGB':
                pic = pic.convert('RGB')
            arr = np.asarray(pic)
        else:
            arr = np.asarray(pic)
        if arr.ndim == 2:
            arr = arr[:, :, None]
        out = np.ascontiguousarray(arr.transpose(2, 0, 1), dtype=np.float32)
        if self.norm_value != 1:
            out /= np.float32(self.norm_value)
        return out

    def __repr__(self):
        return 'ToTensor(norm_value={})'.format(self.norm_value)


class Normalize(_Deterministic):
    """Per channel (x - mean) / std on a C x H x W float array (float32 arithmetic)."""

    def __init__(self, mean, std):
        self.mean = [float(m) for m in mean]
        self.std = [float(s) for s in std]
        if len(self.mean) != len(self.std):
            raise ValueError('mean and std have different lengths: {} vs {}'.format(
                self.mean, self.std))
        if any(s == 0 for s in self.std):
            raise ValueError('std must not contain zeros: {}'.format(self.std))
        self._mean = np.asarray(self.mean, dtype=np.float32)[:, None, None]
        self._std = np.asarray(self.std, dtype=np.float32)[:, None, None]

    def __call__(self, tensor):
        tensor = np.asarray(tensor, dtype=np.float32)
        if tensor.shape[0] != self._mean.shape[0]:
            raise ValueError('Normalize expects {} channels, got array of shape {}'.format(
                self._mean.shape[0], tensor.shape))
        return (tensor - self._mean) / self._std

    def __repr__(self):
        return 'Normalize(mean={}, std={})'.format(self.mean, self.std)


class Scale(_Deterministic):
    """Resize so the short side is ``size`` (long side ``int(size * long / short)``), or to
    ``(w, h)`` when ``size`` is a pair. Bilinear by default. The reference's ``Scale``."""

    def __init__(self, size, interpolation=BILINEAR):
        if not (isinstance(size, numbers.Integral) or (hasattr(size, '__len__') and len(size) == 2)):
            raise ValueError('Scale size must be an int or a (w, h) pair, got {!r}'.format(size))
        self.size = size
        self.interpolation = interpolation

    def output_size(self, width, height):
        """(w, h) after the transform; None when an image of this size is returned as is."""
        if not isinstance(self.size, numbers.Integral):
            return tuple(self.size)
        if (width <= height and width == self.size) or (height <= width and height == self.size):
            return None
        if width < height:
            return self.size, int(self.size * height / width)
        return int(self.size * width / height), self.size

    def __call__(self, img):
        size = self.output_size(*img.size)
        return img if size is None else img.resize(size, self.interpolation)

    def geometry(self, view):
        size = self.output_size(*view.size)
        return view if size is None else view.resize(*size)

    def __repr__(self):
        return 'Scale({})'.format(self.size)


Resize = Scale


def _corner_box(position, width, height, crop):
    if position == 'tl':
        return 0, 0, crop, crop
    if position == 'tr':
        return width - crop, 0, width, crop
    if position == 'bl':
        return 0, height - crop, crop, height
    if position == 'br':
        return width - crop, height - crop, width, height
    raise ValueError('unknown crop position {!r}; expected one of {}'.format(
        position, CROP_POSITIONS))


class CornerCrop(object):
    """``size`` x ``size`` crop at 'c' (offset round((w - size) / 2)), 'tl', 'tr', 'bl', 'br'.
    With ``crop_position=None`` a position is drawn per clip. The centre crop also takes an
    ``(h, w)`` size."""

    def __init__(self, size, crop_position=None, crop_positions=CROP_POSITIONS):
        self.size = size
        self.crop_positions = list(crop_positions)
        self.randomize = crop_position is None
        if crop_position is not None and crop_position not in CROP_POSITIONS:
            raise ValueError('unknown crop position {!r}; expected one of {}'.format(
                crop_position, CROP_POSITIONS))
        self.crop_position = crop_position if crop_position is not None else 'c'

    def crop_box(self, width, height):
        if self.crop_position == 'c':
            th, tw = (self.size, self.size) if isinstance(self.size, numbers.Number) else self.size
            x1 = int(round((width - tw) / 2.))
            y1 = int(round((height - th) / 2.))
            return x1, y1, x1 + tw, y1 + th
        return _corner_box(self.crop_position, width, height, self.size)

    def __call__(self, img):
        return img.crop(self.crop_box(*img.size))

    def geometry(self, view):
        return view.crop(*self.crop_box(*view.size))

    def randomize_parameters(self):
        if self.randomize:
            self.crop_position = self.crop_positions[
                random.randint(0, len(self.crop_positions) - 1)]

    def __repr__(self):
        return 'CornerCrop({}, {!r})'.format(self.size, None if self.randomize else self.crop_position)


class CenterCrop(CornerCrop):
    """Centre crop (the reference's ``CenterCrop``): offset round((w - size) / 2), round((h - size) / 2)."""

    def __init__(self, size):
        super().__init__(int(size) if isinstance(size, numbers.Number) else tuple(size), 'c')

    def __repr__(self):
        return 'CenterCrop({})'.format(self.size)


class RandomHorizontalFlip(object):
    """Flip with probability ``p`` (one ``random.random()`` draw per clip)."""

    def __init__(self, p=0.5):
        self.p = p
        self._draw = 1.0  # no flip until randomized

    def __call__(self, img):
        if self._draw < self.p:
            return img.transpose(_FLIP_LEFT_RIGHT)
        return img

    def geometry(self, view):
        return view.mirrored() if self.flipped else view

    def randomize_parameters(self):
        self._draw = random.random()

    @property
    def flipped(self):
        return self._draw < self.p

    def __repr__(self):
        return 'RandomHorizontalFlip(p={})'.format(self.p)


class MultiScaleCornerCrop(object):
    """The reference's training crop (CVPR2018 default ``--train_crop corner``).

    Per clip: scale uniformly from ``scales``, position uniformly from ``crop_positions``.
    crop = int(min(W, H) * scale); the centre box is [cx - crop // 2, cx + crop // 2) with
    cx = W // 2, cy = H // 2 (one pixel smaller when crop is odd); corners are exact
    crop x crop boxes. The crop is resized to ``size`` x ``size`` (bilinear).
    For 320 x 240 frames and the default scales the sides are 240, 201, 169, 142, 119.

    The position draw uses the corrected index range of the reference's last CVPR2018 commit
    (PR #116, ``randint(0, len(crop_positions) - 1)``).
    """

    def __init__(self, scales, size, interpolation=BILINEAR, crop_positions=CROP_POSITIONS):
        if not scales:
            raise ValueError('MultiScaleCornerCrop needs at least one scale')
        self.scales = list(scales)
        self.size = size
        self.interpolation = interpolation
        self.crop_positions = list(crop_positions)
        for p in self.crop_positions:
            if p not in CROP_POSITIONS:
                raise ValueError('unknown crop position {!r}; expected one of {}'.format(
                    p, CROP_POSITIONS))
        self.scale = self.scales[0]
        self.crop_position = self.crop_positions[0]

    def crop_box(self, width, height):
        crop = int(min(width, height) * self.scale)
        if self.crop_position == 'c':
            cx, cy, half = width // 2, height // 2, crop // 2
            return cx - half, cy - half, cx + half, cy + half
        return _corner_box(self.crop_position, width, height, crop)

    def __call__(self, img):
        box = self.crop_box(*img.size)
        return img.crop(box).resize((self.size, self.size), self.interpolation)

    def geometry(self, view):
        return view.crop(*self.crop_box(*view.size)).resize(self.size, self.size)

    def randomize_parameters(self):
        self.scale = self.scales[random.randint(0, len(self.scales) - 1)]
        self.crop_position = self.crop_positions[random.randint(0, len(self.crop_positions) - 1)]

    def __repr__(self):
        return 'MultiScaleCornerCrop(scales={}, size={}, positions={})'.format(
            self.scales, self.size, self.crop_positions)


class MultiScaleRandomCrop(object):
    """OLD ``--train_crop random``: square crop of side int(min(W, H) * scale) at top-left
    (U(0,1) * (W - crop), U(0,1) * (H - crop)), resized to ``size`` (bilinear)."""

    def __init__(self, scales, size, interpolation=BILINEAR):
        self.scales = list(scales)
        self.size = size
        self.interpolation = interpolation
        self.scale = self.scales[0]
        self.tl_x = 0.5
        self.tl_y = 0.5

    def crop_box(self, width, height):
        crop = int(min(width, height) * self.scale)
        x1 = self.tl_x * (width - crop)
        y1 = self.tl_y * (height - crop)
        # PIL's crop rounds float coordinates, as it did for the reference: round them the same
        # way here, so the geometry gets the box the crop used.
        return tuple(int(round(c)) for c in (x1, y1, x1 + crop, y1 + crop))

    def __call__(self, img):
        img = img.crop(self.crop_box(*img.size))
        return img.resize((self.size, self.size), self.interpolation)

    def geometry(self, view):
        return view.crop(*self.crop_box(*view.size)).resize(self.size, self.size)

    def randomize_parameters(self):
        self.scale = self.scales[random.randint(0, len(self.scales) - 1)]
        self.tl_x = random.random()
        self.tl_y = random.random()

    def __repr__(self):
        return 'MultiScaleRandomCrop(scales={}, size={})'.format(self.scales, self.size)


class RandomResizedCrop(object):
    """NEW ``--train_crop random``: torchvision's RandomResizedCrop algorithm (area fraction
    U(scale), log-uniform aspect ratio, 10 tries then a centre fallback), drawn once per clip
    from the first frame's size (with Python's ``random``), resized to ``size`` x ``size``."""

    def __init__(self, size, scale=(0.25, 1.0), ratio=(3. / 4., 4. / 3.), interpolation=BILINEAR):
        self.size = (size, size) if isinstance(size, numbers.Number) else tuple(size)  # (h, w)
        self.scale = tuple(scale)
        self.ratio = tuple(ratio)
        if self.scale[0] > self.scale[1] or self.ratio[0] > self.ratio[1]:
            raise ValueError('RandomResizedCrop: scale and ratio must be (min, max), got {} {}'
                             .format(self.scale, self.ratio))
        self.interpolation = interpolation
        self._params = None
        self._randomize = True

    def get_params(self, width, height):
        area = width * height
        log_ratio = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        for _ in range(10):
            target_area = area * random.uniform(self.scale[0], self.scale[1])
            aspect = math.exp(random.uniform(log_ratio[0], log_ratio[1]))
            w = int(round(math.sqrt(target_area * aspect)))
            h = int(round(math.sqrt(target_area / aspect)))
            if 0 < w <= width and 0 < h <= height:
                i = random.randint(0, height - h)
                j = random.randint(0, width - w)
                return i, j, h, w
        in_ratio = float(width) / float(height)
        if in_ratio < min(self.ratio):
            w = width
            h = int(round(w / min(self.ratio)))
        elif in_ratio > max(self.ratio):
            h = height
            w = int(round(h * max(self.ratio)))
        else:
            w, h = width, height
        return (height - h) // 2, (width - w) // 2, h, w

    def crop_box(self, width, height):
        """The clip's box; drawn at the first call after ``randomize_parameters()``."""
        if self._randomize or self._params is None:
            self._params = self.get_params(width, height)
            self._randomize = False
        i, j, h, w = self._params
        return j, i, j + w, i + h

    def __call__(self, img):
        img = img.crop(self.crop_box(*img.size))
        return img.resize((self.size[1], self.size[0]), self.interpolation)

    def geometry(self, view):
        return view.crop(*self.crop_box(*view.size)).resize(self.size[1], self.size[0])

    def randomize_parameters(self):
        self._randomize = True

    def __repr__(self):
        return 'RandomResizedCrop(size={}, scale={}, ratio={})'.format(
            self.size, self.scale, self.ratio)


def transform_clip(spatial_transform, frames):
    """Apply ``spatial_transform`` to a list of frames with ONE parameter draw for the clip.

    Returns a float32 numpy array C x T x H x W. Without a transform (None) the frames are only
    converted with ``ToTensor(1)``. The transform must end with ``ToTensor`` (it may be followed
    by ``Normalize``).
    """
    if not frames:
        raise ValueError('cannot transform an empty clip')
    if spatial_transform is None:
        spatial_transform = ToTensor(1)
    else:
        spatial_transform.randomize_parameters()
    out = [spatial_transform(img) for img in frames]
    if not isinstance(out[0], np.ndarray):
        raise TypeError('the spatial transform must end with ToTensor (got {})'.format(
            type(out[0]).__name__))
    return np.ascontiguousarray(np.stack(out, axis=1), dtype=np.float32)
