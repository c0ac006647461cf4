"""Synthetic data in the layouts the commands read: the one place that writes it, for the tests, the
benchmarks and scripts/make_demo_dataset.py.

Frames (uint8 RGB arrays ``T x H x W x 3``, deterministic given their random generator):

    textured_frames(rng, n)          a camera panning over a texture with coarse and fine detail
    motion_frames(name, rng, n, w, h) the demo dataset's motion classes (MOTION_CLASSES)
    gradient_frames(n, w, h)         a moving colour gradient (every frame differs)
    edge_frames(n, w, h)             a red frame with a moving blue edge

Files:

    write_frames(folder, frames)     ``image_%05d.jpg`` (+ ``n_frames``), as utils/video_jpg_ucf101_hmdb51.py
    write_frame_tree(...)            ``<label>/<video>/image_%05d.jpg`` for many videos + the annotation JSON
    write_jpeg_dataset(root)         a UCF-101-shaped tree of textured frames + its annotation JSON
    write_video(path, frames)        an encoded video file through PyAV (one thread: the same bytes each time)
    encode_avi(path, frames)         the demo dataset's AVI files (constant quality MPEG-4 or MJPEG)
    annotation_entry(subset, label), write_annotation(path, labels, database), write_json(path, obj)
                                     ActivityNet-style annotation JSON, as utils/ucf101_json.py writes it

No Paddle; PIL and PyAV are imported when first used.
"""
import json
import os
from fractions import Fraction

import numpy as np

from .loader import IMAGE_TEMPLATE

# PIL's own default JPEG quality; the frames utils/video_jpg_ucf101_hmdb51.py writes (FFmpeg's mjpeg at
# 200 kb/s) are smaller still, which makes decoding cheaper.
DEFAULT_QUALITY = 75
# The demo dataset's classes (scripts/make_demo_dataset.py --n_classes N keeps the first N).
MOTION_CLASSES = ['MoveUp', 'MoveDown', 'ZoomIn', 'ZoomOut', 'Flash', 'Still']


# --------------------------------------------------------------------------------------------------
# frames


def _octave(rng, width, height, cell):
    """Random RGB values on a grid of ``cell``-pixel spacing, smoothly upsampled to width x height."""
    from PIL import Image
    grid = rng.integers(0, 256, (height // cell + 2, width // cell + 2, 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(grid).resize((width, height), Image.BICUBIC), np.float32)


def textured_frames(rng, n_frames, width=320, height=240, speed=4):
    """``n_frames`` x H x W x 3 uint8 frames of a camera panning over a texture with coarse and
    fine detail (like real footage, unlike flat colours, so resampling differences show)."""
    wide = width + speed * n_frames
    texture = (0.5 * _octave(rng, wide, height, 48) + 0.3 * _octave(rng, wide, height, 12)
               + 0.2 * _octave(rng, wide, height, 4))
    frames = np.empty((n_frames, height, width, 3), np.uint8)
    for t in range(n_frames):
        window = texture[:, speed * t:speed * t + width]
        noise = rng.normal(0, 2, window.shape)  # sensor noise
        frames[t] = np.clip(window + noise, 0, 255).astype(np.uint8)
    return frames


def gradient_frames(n_frames, width=64, height=48):
    """``n_frames`` x H x W x 3 uint8 frames of a colour gradient moving a few pixels per frame."""
    yy, xx = np.mgrid[0:height, 0:width]
    frames = np.zeros((n_frames, height, width, 3), np.uint8)
    for i in range(n_frames):
        frames[i, ..., 0] = (xx * 4 + i * 16) % 256
        frames[i, ..., 1] = (yy * 4 + i * 8) % 256
        frames[i, ..., 2] = 255 - (i * 20) % 256
    return frames


def edge_frames(n_frames, width=80, height=60):
    """``n_frames`` x H x W x 3 uint8 red frames with a blue edge moving 7 pixels per frame."""
    frames = np.zeros((n_frames, height, width, 3), np.uint8)
    for i in range(n_frames):
        frames[i, ..., 0] = 200
        frames[i, :, (i * 7) % width:, 2] = 220
    return frames


def _smooth_noise(rng, height, width, cell):
    """Smooth random field in [-1, 1] (bilinear upsampling of a coarse random grid)."""
    gh, gw = height // cell + 2, width // cell + 2
    grid = rng.uniform(-1, 1, (gh, gw))
    ys = np.arange(height) / cell
    xs = np.arange(width) / cell
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
    fy, fx = fy * fy * (3 - 2 * fy), fx * fx * (3 - 2 * fx)  # smoothstep
    a = grid[y0][:, x0]
    b = grid[y0][:, x0 + 1]
    c = grid[y0 + 1][:, x0]
    d = grid[y0 + 1][:, x0 + 1]
    return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy


def _colours(rng):
    """Two random RGB colours far enough apart to keep the pattern visible."""
    while True:
        c0, c1 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
        if np.linalg.norm(c0 - c1) > 150:
            return c0, c1


def _paint(value, c0, c1):
    """value in [-1, 1] (H x W) -> float32 RGB."""
    a = ((value.astype(np.float32) + 1) * 0.5)[..., None]
    c0, c1 = c0.astype(np.float32), c1.astype(np.float32)
    return c0 + (c1 - c0) * a


def _finish(rgb, rng, noise_amp):
    # grey (luminance) sensor noise
    noisy = rgb + rng.standard_normal(rgb.shape[:2] + (1,), dtype=np.float32) * np.float32(noise_amp)
    return np.clip(noisy + 0.5, 0, 255).astype(np.uint8)


def motion_frames(class_name, video_rng, n_frames, width, height, info=None):
    """``n_frames`` x H x W x 3 uint8 frames of one video of the motion class ``class_name`` (one of
    MOTION_CLASSES); `info` (a dict), if given, receives the drawn parameters."""
    # Everything is drawn per clip: an appearance shared by a group would let a small network
    # memorise the training groups by colour instead of learning the motion.
    c0, c1 = _colours(video_rng)
    # Coarse and fast enough to survive resizing 320x240 to 32x32 (1.6..2.7 pixels per frame there).
    wavelength = video_rng.uniform(80, 160)
    cell = int(video_rng.integers(24, 64))
    speed = video_rng.uniform(12.0, 20.0)  # pixels per frame
    phase = video_rng.uniform(0, 2 * np.pi)
    noise_amp = 3.0
    if info is not None:
        info.update(wavelength=wavelength, speed=speed)
    frames = np.empty((n_frames, height, width, 3), np.uint8)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)

    if class_name in ('MoveUp', 'MoveDown'):
        travel = int(np.ceil(speed * n_frames)) + 2
        tall = height + travel
        warp = _smooth_noise(video_rng, tall, width, cell)
        rows = np.arange(tall, dtype=np.float64)[:, None]
        texture = 0.75 * np.sin(2 * np.pi * rows / wavelength + phase + 1.2 * warp) + 0.25 * warp
        for t in range(n_frames):
            off = int(round(speed * t))
            # MoveUp: content goes up = we read further down the tall texture as time passes
            start = off if class_name == 'MoveUp' else travel - off
            frames[t] = _finish(_paint(texture[start:start + height], c0, c1), video_rng, noise_amp)
    elif class_name in ('ZoomIn', 'ZoomOut'):
        cx = width * video_rng.uniform(0.3, 0.7)
        cy = height * video_rng.uniform(0.3, 0.7)
        if info is not None:
            info.update(cx=cx, cy=cy)
        r = np.hypot(xx - cx, yy - cy)
        theta = np.arctan2(yy - cy, xx - cx)
        lobes = int(video_rng.integers(2, 6))
        angular = 0.8 * np.sin(lobes * theta + np.float32(video_rng.uniform(0, 2 * np.pi)))
        base = (2 * np.pi / wavelength) * r + angular
        sign = -1.0 if class_name == 'ZoomIn' else 1.0  # ZoomIn: rings grow outwards
        for t in range(n_frames):
            value = np.sin(base + np.float32(2 * np.pi * sign * speed * t / wavelength + phase))
            frames[t] = _finish(_paint(value, c0, c1), video_rng, noise_amp)
    elif class_name in ('Flash', 'Still'):
        base = _smooth_noise(video_rng, height, width, cell)
        texture = np.clip(1.5 * base, -1, 1)
        img = _paint(texture, c0, c1)
        inverse = _paint(-texture, c0, c1)
        period = video_rng.uniform(4.0, 10.0)  # frames
        for t in range(n_frames):
            if class_name == 'Flash':
                m = 0.5 + 0.5 * np.cos(2 * np.pi * t / period + phase)
                frame = img * m + inverse * (1 - m)
            else:
                frame = img
            frames[t] = _finish(frame, video_rng, noise_amp)
    else:
        raise ValueError('unknown class %r (known: %s)' % (class_name, ', '.join(MOTION_CLASSES)))
    return frames


# --------------------------------------------------------------------------------------------------
# annotations


def annotation_entry(subset, label=None, **annotations):
    """One video of an annotation's database: ``{'subset': .., 'annotations': {'label': .., **annotations}}``
    (no 'label' when ``label`` is None: an unlabelled video)."""
    a = dict(annotations)
    if label is not None:
        a['label'] = label
    return {'subset': subset, 'annotations': a}


def write_json(path, obj):
    """``obj`` as JSON at ``path`` (an annotation, a prediction file); returns the path as a string."""
    with open(path, 'w') as f:
        json.dump(obj, f)
    return str(path)


def write_annotation(path, labels, database):
    """The annotation JSON ``{'labels': labels, 'database': database}`` (as utils/ucf101_json.py writes)."""
    return write_json(path, {'labels': labels, 'database': database})


# --------------------------------------------------------------------------------------------------
# frame trees


def write_frames(folder, frames, n_frames_file=True, **save):
    """``folder/image_%05d.jpg`` for each frame (arrays or PIL images) and, with ``n_frames_file``, the
    ``n_frames`` file utils/n_frames_ucf101_hmdb51.py writes; ``save``: PIL's JPEG options. Returns folder."""
    from PIL import Image
    os.makedirs(folder, exist_ok=True)
    n = 0
    for n, frame in enumerate(frames, 1):
        image = frame if isinstance(frame, Image.Image) else Image.fromarray(frame)
        image.save(os.path.join(folder, IMAGE_TEMPLATE.format(n)), **save)
    if n_frames_file:
        with open(os.path.join(folder, 'n_frames'), 'w') as f:
            f.write(str(n))
    return folder


def write_frame_tree(video_path, annotation_path, labels, videos, frames_of, **save):
    """Write ``<video_path>/<label>/<video_id>/image_%05d.jpg`` (+ ``n_frames``) for each
    ``(label, video_id, subset)`` of ``videos`` with the frames ``frames_of(label)`` returns, and the
    annotation JSON (ActivityNet-style, as utils/ucf101_json.py writes) listing ``labels``. ``save``:
    PIL's JPEG options."""
    database = {}
    for label, video_id, subset in videos:
        write_frames(os.path.join(video_path, label, video_id), frames_of(label), **save)
        database[video_id] = annotation_entry(subset, label)
    write_annotation(annotation_path, labels, database)
    return annotation_path


def write_jpeg_dataset(root, n_classes=2, n_train=3, n_val=3, n_frames=48, width=320, height=240,
                       quality=DEFAULT_QUALITY, seed=0):
    """Write ``<root>/jpg/<class>/<video>/image_%05d.jpg`` (+ ``n_frames``) and the annotation
    ``<root>/annotation.json``; returns (video_path, annotation_path). Per class ``n_train`` training
    and ``n_val`` validation videos of textured frames."""
    rng = np.random.default_rng(seed)
    labels = ['Class{}'.format(c + 1) for c in range(n_classes)]
    videos = [(label, 'v_{}_g{:02d}_c01'.format(label, v + 1), 'training' if v < n_train else 'validation')
              for label in labels for v in range(n_train + n_val)]
    video_path = os.path.join(root, 'jpg')
    annotation_path = write_frame_tree(video_path, os.path.join(root, 'annotation.json'), labels, videos,
                                       lambda label: textured_frames(rng, n_frames, width, height), quality=quality)
    return video_path, annotation_path


# --------------------------------------------------------------------------------------------------
# video files


def write_video(path, frames, fps=25, codec='mpeg4', fmt=None, pts=None, qscale=None, bit_rate=None,
                gop_size=None, atomic=False):
    """Encode uint8 RGB ``frames`` (T x H x W x 3; T = 0 gives a header-only 'empty' video) into ``path``
    through PyAV, on one thread (the same bytes every time). ``fmt``: the container (default: from the
    name); ``pts``: each frame's timestamp in 1/fps (default 0, 1, ...); ``qscale``: constant quality;
    ``atomic``: written under a temporary name, then renamed. Returns ``path``."""
    import av
    frames = np.asarray(frames)
    pts = list(range(len(frames))) if pts is None else list(pts)
    height, width = frames.shape[1:3]
    os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
    target = path + '.tmp' if atomic else path
    with av.open(target, 'w', format=fmt) as container:
        stream = container.add_stream(codec, rate=Fraction(fps))
        stream.width, stream.height = width, height
        stream.pix_fmt = 'yuvj420p' if codec == 'mjpeg' else 'yuv420p'
        cc = stream.codec_context
        cc.thread_count = 1  # deterministic output
        if qscale is not None:
            cc.qmin = cc.qmax = qscale
        if bit_rate is not None:
            cc.bit_rate = bit_rate
        if gop_size is not None:
            cc.gop_size = gop_size
        if codec in ('mpeg4', 'libx264', 'h264'):
            cc.max_b_frames = 0
        container.start_encoding()  # the header even when there is no frame
        for img, p in zip(frames, pts):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format='rgb24')
            frame.pts = p
            frame.time_base = Fraction(1, fps)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    if atomic:
        os.replace(target, path)
    return path


def encode_avi(path, frames, fps=25, codec='mpeg4', qscale=4):
    """The demo dataset's AVI (scripts/make_demo_dataset.py): constant quality ``qscale``, MPEG-4 with a
    12-frame GOP or MJPEG; written to a temporary name, then renamed."""
    return write_video(path, frames, fps, codec, fmt='avi', qscale=qscale, bit_rate=4000000,
                       gop_size=12 if codec == 'mpeg4' else None, atomic=True)
