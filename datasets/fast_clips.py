"""The 'fast' and 'fast_draft' settings of the clip loader (loader.py): one JPEG -> the transformed
uint8 pixels, without intermediate images.

Per clip, the spatial transform draws its parameters once (``randomize_parameters()`` and, for
``RandomResizedCrop``, its box at the first frame: the same random calls in the same order as the
PIL path, so one seed gives the same crops and flips in both) and describes its crops, resizes
and flip as a ``ClipGeometry`` in source-frame coordinates. Then, per distinct frame index:

1. ``decode`` turns the file's bytes into pixels with simplejpeg (libjpeg-turbo through its TurboJPEG
   API): the same pixels as Pillow's decoder (both libjpeg-turbo with the accurate integer IDCT and
   fancy upsampling; checked on Pillow-written and FFmpeg-written frames, tests/test_fast_loader.py) at
   about half Pillow's cost (benchmarks/bench_decode.py, docs/PERFORMANCE.md). Files libjpeg-turbo would
   convert differently from Pillow (CMYK/YCCK JPEGs) or cannot read (other formats, damaged files) go to
   Pillow, which also raises the error the reference pipeline would;
2. with ``draft=True`` only (``--loader fast_draft``), the JPEG is decoded at 1/2, 1/4 or 1/8 size
   (DCT-domain downscaling, the same pixels as Pillow's ``Image.draft``): the smallest size at which the
   source region still has at least the output's pixels. Faster, but the pixels then differ from the
   reference pipeline's (mean |diff| 1.2..1.8 / 255 per clip, up to 17; on one seed of the parity recipe
   the exact pixels closed about half of the old default's accuracy gap, docs/PARITY.md), so the default
   decodes at full size;
3. one crop + ``resize(size, BILINEAR, box=...)`` (Pillow) turns the decoded frame into the output; the
   crop keeps the resize from reading pixels the PIL path had cut off, so without downscaling the
   pixels equal the PIL path's;
4. the pixels (mirrored by a numpy slice when flipped) go straight into the preallocated clip.
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
import simplejpeg
from PIL import Image

from .spatial_transforms import BILINEAR, ClipGeometry

__all__ = ['ClipFrameReader', 'EncodedFrame', 'draft_scale']

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


def outward_box(box, width, height):
    """The integer pixel box covering the float ``box``, within a ``width`` x ``height`` image."""
    x0, y0, x1, y1 = box
    return (max(0, math.floor(x0)), max(0, math.floor(y0)),
            min(width, math.ceil(x1)), min(height, math.ceil(y1)))


# The JPEG colour spaces libjpeg-turbo turns into RGB as Pillow does (CMYK and YCCK: Pillow inverts Adobe's
# CMYK, TurboJPEG does not).
_TURBO_COLORSPACES = ('YCbCr', 'Gray')


class EncodedFrame(object):
    """One frame's file contents (JPEG bytes, or another format Pillow reads); ``size`` is known before
    decoding, from the header."""

    def __init__(self, data):
        self.data = data
        try:
            height, width, colorspace, _ = simplejpeg.decode_jpeg_header(data)
        except ValueError:  # not a JPEG libjpeg-turbo reads: Pillow will say what it is
            colorspace = None
        self.turbo = colorspace in _TURBO_COLORSPACES
        if self.turbo:
            self.size = (width, height)
        else:
            with Image.open(io.BytesIO(data)) as img:
                self.size = img.size

    def decode(self, scale=1):
        """PIL image of the RGB pixels (mode RGB, or RGBX: the same bands plus padding), decoded at 1/scale
        of the size where the format allows it (``image.size`` tells). Undecodable data raises Pillow's
        OSError."""
        if self.turbo:
            width, height = self.size
            try:
                pixels = simplejpeg.decode_jpeg(self.data, 'RGBX', min_height=height // scale,
                                                min_width=width // scale)
            except ValueError:
                # damaged (strict mode also refuses what libjpeg only warns about): Pillow decodes or raises
                # exactly as the reference pipeline would
                pass
            else:
                return Image.frombuffer('RGBX', pixels.shape[1::-1], pixels, 'raw', 'RGBX', 0, 1)
        img = Image.open(io.BytesIO(self.data))
        if scale > 1:
            img.draft('RGB', (self.size[0] // scale, self.size[1] // scale))
        img.load()
        return img if img.mode == 'RGB' else img.convert('RGB')


def _resample(frame, geometry, draft):
    """The ``EncodedFrame`` cut and resized to ``geometry``, not yet mirrored; decoded at reduced size where
    ``draft`` allows it."""
    img = frame.decode(draft_scale(geometry) if draft else 1)
    scale = frame.size[0] / img.size[0]  # the reduction the decoder really used
    domain = outward_box([c / scale for c in geometry.domain], *img.size)
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
        """The transformed pixels of one frame given as its file's bytes (a JPEG, or any format Pillow reads;
        e.g. from an HDF5 video)."""
        frame = EncodedFrame(data)
        geometry = self.geometry(frame.size)
        if not geometry.inside(*frame.size):
            return np.asarray(self.spatial_transform(frame.decode().convert('RGB')))
        pixels = np.asarray(_resample(frame, geometry, self.draft))[:, :, :3]
        return pixels[:, ::-1] if geometry.flip else pixels
