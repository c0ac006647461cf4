"""The 'fast' and 'fast_draft' settings of the clip loader (loader.py): one JPEG -> the transformed
uint8 pixels, without intermediate images.

Per clip, the spatial transform draws its parameters once (``randomize_parameters()`` and, for
``RandomResizedCrop``, its box at the first frame: the same random calls in the same order as the
PIL path, so one seed gives the same crops and flips in both) and describes its crops, resizes
and flip as a ``ClipGeometry`` in source-frame coordinates. Then, per distinct frame index:

1. with ``draft=True`` only (``--loader fast_draft``), ``Image.draft`` makes libjpeg decode at 1/2,
   1/4 or 1/8 size (DCT-domain downscaling): the smallest size at which the source region still
   has at least the output's pixels. Faster, but the pixels then differ from the reference
   pipeline's (mean |diff| 1.2..1.8 / 255 per clip, up to 17) and scripts/parity.py measured that
   this costs accuracy (docs/PARITY.md), so the default decodes at full size;
2. one crop + ``resize(size, BILINEAR, box=...)`` turns the decoded frame into the output; the
   crop keeps the resize from reading pixels the PIL path had cut off, so without downscaling the
   pixels equal the PIL path's;
3. the pixels (mirrored by a numpy slice when flipped) go straight into the preallocated clip.
   Repeated indices (loop padding) are decoded once and copied.

The clip stays uint8; ``input_normalizer`` (normalization.py) normalises whole batches.

Where the one-step path does not apply:

* a spatial transform without geometry (``describes_geometry`` is False) or a custom
  ``video_loader``: the loader takes the per-frame PIL path for the whole clip (uint8 all the same);
* a crop that reaches beyond its frame (PIL pads it with black; e.g. the test-time
  ``Scale(size / scale_in_test)`` with ``scale_in_test`` > 1): that clip's frames are decoded at
  full size and transformed with PIL, still into a uint8 clip.
"""

import io
import math

import numpy as np
from PIL import Image

from .spatial_transforms import BILINEAR, ClipGeometry

__all__ = ['ClipFrameReader', 'draft_scale']

# The reductions libjpeg's scaled IDCT offers through PIL's draft(), largest first.
_JPEG_SCALES = (8, 4, 2)


def draft_scale(geometry):
    """The largest JPEG reduction (8, 4, 2, else 1) that leaves the source region of
    ``geometry`` at least as many pixels as its output, in both directions."""
    x0, y0, x1, y1 = geometry.box
    width, height = geometry.size
    for scale in _JPEG_SCALES:
        if (x1 - x0) / scale >= width and (y1 - y0) / scale >= height:
            return scale
    return 1


def _outward(box, width, height):
    """The integer pixel box covering the float ``box``, within a ``width`` x ``height`` image."""
    x0, y0, x1, y1 = box
    return (max(0, math.floor(x0)), max(0, math.floor(y0)),
            min(width, math.ceil(x1)), min(height, math.ceil(y1)))


def _resample(img, geometry, draft):
    """``img`` (opened, not yet decoded) cut and resized to ``geometry``, not yet mirrored;
    decoded at reduced size where ``draft`` allows it."""
    width, height = img.size
    scale = draft_scale(geometry) if draft else 1
    if scale > 1:
        drafted = img.draft('RGB', (width // scale, height // scale))
        # The scale the decoder will really use (None: not a JPEG, decoded at full size).
        scale = width / drafted[1][2] if drafted else 1
    if img.mode != 'RGB':
        img = img.convert('RGB')
    domain = _outward([c / scale for c in geometry.domain], *img.size)
    left, top = domain[:2]
    x0, y0, x1, y1 = (c / scale for c in geometry.box)
    box = (x0 - left, y0 - top, x1 - left, y1 - top)
    return img.crop(domain).resize(geometry.size, BILINEAR, box=box)


class ClipFrameReader(object):
    """``reader(path)`` or ``reader.pixels(file bytes)`` -> H x W x 3 uint8 pixels of one frame of a clip,
    transformed with the clip's parameters (drawn before the first call)."""

    def __init__(self, spatial_transform, draft):
        self.spatial_transform = spatial_transform
        self.draft = draft
        # By frame size: the PIL path computes each frame's crop from that frame's own size.
        self._geometries = {}

    def geometry(self, size):
        if size not in self._geometries:
            self._geometries[size] = self.spatial_transform.geometry(ClipGeometry.whole(*size))
        return self._geometries[size]

    def __call__(self, path):
        """The frame's pixels; file errors are the caller's to name (loader.frame_errors)."""
        with open(path, 'rb') as f:
            return self.pixels(f.read())

    def pixels(self, data):
        """The transformed pixels of one frame given as its file's bytes (e.g. from an HDF5 video)."""
        with Image.open(io.BytesIO(data)) as img:
            geometry = self.geometry(img.size)
            if not geometry.inside(*img.size):
                return np.asarray(self.spatial_transform(img.convert('RGB')))
            pixels = np.asarray(_resample(img, geometry, self.draft))
        return pixels[:, ::-1] if geometry.flip else pixels
