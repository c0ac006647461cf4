"""Write a small UCF-101-shaped dataset of synthetic motion videos (the embedded demo dataset).

    python scripts/make_demo_dataset.py [DST_DIR] [--n_classes 6] [--n_groups 7] [--n_clips 4]
                                        [--n_frames 48] [--seed 0]

Output (default DST_DIR = data/demo)::

    DST_DIR/UCF-101/<Class>/v_<Class>_g01_c01.avi ...   real encoded videos (MPEG-4 part 2 in AVI,
                                                        320x240, 25 fps, like UCF-101's)
    DST_DIR/ucfTrainTestlist/classInd.txt               "1 Flash"            (CRLF, as UCF-101's)
    DST_DIR/ucfTrainTestlist/trainlist0k.txt            "Flash/v_Flash_g03_c01.avi 1"
    DST_DIR/ucfTrainTestlist/testlist0k.txt             "Flash/v_Flash_g01_c01.avi"   (k = 01..03)

so the same commands as for UCF-101 apply (utils/video_jpg_ucf101_hmdb51.py, n_frames_...,
ucf101_json.py).  As in UCF-101, every split tests on whole groups: split k tests on its own block
of groups (g01-g02, g03-g04, g05-g06 with the default 7 groups) and trains on the others.  The
default 6 classes x 7 groups x 8 clips = 336 videos (240 training / 96 validation per split,
about 16,000 frames) take about 50 s to write on one core.

The classes are motion patterns over the whole frame, made to survive the reference's training
augmentation (random horizontal flip, corner/centre crops of 50..100 % of the short side, resize to
a small sample such as 32x32 or 48x48, 8-frame clips):

    MoveUp / MoveDown   a textured stripe pattern drifting up / down      (differ only in direction)
    ZoomIn / ZoomOut    rings expanding from / contracting to a centre    (differ only in direction)
    Flash               a still texture whose colours blink periodically
    Still               a still texture (sensor noise only)

Colours, wave lengths, textures, phases, speeds (12..20 pixels per frame), ring centres and blink
periods are random per video (not per group: a look shared by a group lets a small network memorise
the training groups instead of learning the motion), so a single frame does not tell the pairs
apart.  --n_classes N keeps the first N of: MoveUp, MoveDown,
ZoomIn, ZoomOut, Flash, Still.  Everything is deterministic given --seed (same bytes on the same
PyAV/FFmpeg version).
"""
import argparse
import json
import os
import shutil
import sys
from fractions import Fraction

import numpy as np

CLASS_ORDER = ['MoveUp', 'MoveDown', 'ZoomIn', 'ZoomOut', 'Flash', 'Still']
PARAMS_FILE = '.demo_params.json'


# --------------------------------------------------------------------------------------------------
# content


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


def render_video(class_name, video_rng, n_frames, width, height, info=None):
    """``n_frames`` x H x W x 3 uint8 frames of one video; `info` (a dict), if given, receives
    the drawn parameters."""
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
        raise ValueError('unknown class %r (known: %s)' % (class_name, ', '.join(CLASS_ORDER)))
    return frames


def _finish(rgb, rng, noise_amp):
    # grey (luminance) sensor noise
    noisy = rgb + rng.standard_normal(rgb.shape[:2] + (1,), dtype=np.float32) * np.float32(noise_amp)
    return np.clip(noisy + 0.5, 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------------------------------
# files


def encode_avi(path, frames, fps=25, codec='mpeg4', qscale=4):
    """Encode uint8 RGB frames into an AVI through PyAV (written to a temporary name, then renamed)."""
    import av
    tmp = path + '.tmp'
    height, width = frames.shape[1:3]
    with av.open(tmp, 'w', format='avi') as container:
        stream = container.add_stream(codec, rate=Fraction(fps))
        stream.width, stream.height = width, height
        stream.pix_fmt = 'yuvj420p' if codec == 'mjpeg' else 'yuv420p'
        cc = stream.codec_context
        cc.thread_count = 1  # deterministic output
        cc.qmin = cc.qmax = qscale  # constant quality
        cc.bit_rate = 4000000
        if codec == 'mpeg4':
            cc.gop_size = 12
            cc.max_b_frames = 0
        for i, img in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format='rgb24')
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    os.replace(tmp, path)


def test_groups(split, n_groups):
    """Groups (1-based) tested in split 1, 2, 3: consecutive blocks, as UCF-101's splits."""
    block = max(1, n_groups // 3)
    first = (split - 1) * block + 1
    return list(range(first, first + block))


def _write_crlf(path, lines):
    with open(path, 'w', newline='') as f:
        f.write(''.join(line + '\r\n' for line in lines))


def _prepare_folders(dst_dir, folders, params_path, overwrite):
    """Empty ``folders``; refuses (SystemExit) to replace a non-empty one without ``overwrite``."""
    for d in folders:
        if os.path.isdir(d) and os.listdir(d):
            if not overwrite and os.path.isfile(params_path):
                raise SystemExit('error: %s holds a demo dataset made with other options; pass '
                                 '--overwrite to replace it' % dst_dir)
            if not overwrite:
                raise SystemExit('error: %s exists and is not empty; pass --overwrite to replace '
                                 'it' % d)
    if os.path.exists(params_path):
        os.remove(params_path)
    for d in folders:
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)


def _write_videos(video_root, jobs, n_frames, frames_jitter, width, height, fps, codec, seed, progress):
    """One .avi per (class, group, clip) of ``jobs``; returns the number of frames written."""
    from tqdm import tqdm
    total_frames = 0
    for class_name, g, k in tqdm(jobs, unit='video', disable=not progress):
        ci = CLASS_ORDER.index(class_name)
        video_rng = np.random.default_rng([seed, ci, g, k, 1])
        n = n_frames + (int(video_rng.integers(-frames_jitter, frames_jitter + 1))
                        if frames_jitter else 0)
        n = max(1, n)
        frames = render_video(class_name, video_rng, n, width, height)
        class_dir = os.path.join(video_root, class_name)
        os.makedirs(class_dir, exist_ok=True)
        encode_avi(os.path.join(class_dir, 'v_%s_g%02d_c%02d.avi' % (class_name, g, k)), frames,
                   fps, codec)
        total_frames += n
    return total_frames


def _write_split_lists(list_dir, classes, n_groups, n_clips):
    """classInd.txt and the three train/test lists of UCF-101's ucfTrainTestlist (CRLF, as shipped)."""
    _write_crlf(os.path.join(list_dir, 'classInd.txt'),
                ['%d %s' % (i + 1, c) for i, c in enumerate(classes)])
    for split in (1, 2, 3):
        tested = set(test_groups(split, n_groups))
        train, test = [], []
        for i, c in enumerate(classes):
            for g in range(1, n_groups + 1):
                for k in range(1, n_clips + 1):
                    rel = '%s/v_%s_g%02d_c%02d.avi' % (c, c, g, k)
                    if g in tested:
                        test.append(rel)
                    else:
                        train.append('%s %d' % (rel, i + 1))
        _write_crlf(os.path.join(list_dir, 'trainlist%02d.txt' % split), train)
        _write_crlf(os.path.join(list_dir, 'testlist%02d.txt' % split), test)


def make_dataset(dst_dir, n_classes=6, n_groups=7, n_clips=4, n_frames=48, frames_jitter=8,
                 width=320, height=240, fps=25, codec='mpeg4', seed=0, overwrite=False,
                 progress=True, out=sys.stdout):
    classes = sorted(CLASS_ORDER[:n_classes])  # UCF-101's classInd.txt is alphabetical
    params = dict(n_classes=n_classes, n_groups=n_groups, n_clips=n_clips, n_frames=n_frames,
                  frames_jitter=frames_jitter, width=width, height=height, fps=fps, codec=codec,
                  seed=seed, version=2)
    video_root = os.path.join(dst_dir, 'UCF-101')
    list_dir = os.path.join(dst_dir, 'ucfTrainTestlist')
    params_path = os.path.join(dst_dir, PARAMS_FILE)
    if os.path.isfile(params_path) and not overwrite:
        with open(params_path) as f:
            if json.load(f) == params:
                print('%s already holds this demo dataset (same options); nothing to do'
                      % dst_dir, file=out)
                return classes
    _prepare_folders(dst_dir, (video_root, list_dir), params_path, overwrite)
    jobs = [(c, g, k) for c in classes for g in range(1, n_groups + 1)
            for k in range(1, n_clips + 1)]
    total_frames = _write_videos(video_root, jobs, n_frames, frames_jitter, width, height, fps, codec, seed,
                                 progress)
    _write_split_lists(list_dir, classes, n_groups, n_clips)
    with open(params_path, 'w') as f:
        json.dump(params, f)
    print('wrote %d videos (%d frames, %d classes: %s) to %s and split lists to %s'
          % (len(jobs), total_frames, len(classes), ', '.join(classes), video_root, list_dir),
          file=out)
    return classes


def main(argv=None):
    p = argparse.ArgumentParser(allow_abbrev=False,
        description='Write the demo dataset: UCF-101-shaped tree of synthetic motion videos '
                    '(MoveUp/MoveDown, ZoomIn/ZoomOut, Flash, Still) with a ucfTrainTestlist.',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('dst_dir', nargs='?', default=os.path.join('data', 'demo'),
                   help='output folder; gets UCF-101/<Class>/*.avi and ucfTrainTestlist/')
    p.add_argument('--n_classes', type=int, default=6,
                   help='number of classes (2..6), the first N of ' + ', '.join(CLASS_ORDER))
    p.add_argument('--n_groups', type=int, default=7,
                   help='groups g01..gNN per class (>= 3); split k tests on the k-th block of '
                        'n_groups // 3 groups')
    p.add_argument('--n_clips', type=int, default=8, help='clips c01..cNN per group')
    p.add_argument('--n_frames', type=int, default=48, help='frames per video (average)')
    p.add_argument('--frames_jitter', type=int, default=8,
                   help='each video gets n_frames + a random integer in [-jitter, jitter] frames')
    p.add_argument('--width', type=int, default=320, help='frame width (UCF-101: 320)')
    p.add_argument('--height', type=int, default=240, help='frame height (UCF-101: 240)')
    p.add_argument('--fps', type=int, default=25, help='frame rate (UCF-101: 25)')
    p.add_argument('--codec', choices=['mpeg4', 'mjpeg'], default='mpeg4',
                   help='video codec inside the AVI files')
    p.add_argument('--seed', type=int, default=0, help='random seed (same seed, same videos)')
    p.add_argument('--overwrite', action='store_true',
                   help='replace an existing dataset in DST_DIR (by default a dataset made with '
                        'the same options is kept and anything else is refused)')
    p.add_argument('--no_progress', action='store_true', help='no progress bar')
    args = p.parse_args(argv)
    if not 2 <= args.n_classes <= len(CLASS_ORDER):
        p.error('--n_classes must be in 2..%d' % len(CLASS_ORDER))
    if args.n_groups < 3:
        p.error('--n_groups must be >= 3 (three splits test on different groups)')
    if args.n_clips < 1:
        p.error('--n_clips must be >= 1')
    if args.n_frames - args.frames_jitter < 1 or args.frames_jitter < 0:
        p.error('--n_frames minus --frames_jitter must be >= 1 (and the jitter >= 0)')
    if args.width < 16 or args.height < 16 or args.width % 2 or args.height % 2:
        p.error('--width and --height must be even and >= 16')
    if args.fps < 1:
        p.error('--fps must be >= 1')
    make_dataset(args.dst_dir, args.n_classes, args.n_groups, args.n_clips, args.n_frames,
                 args.frames_jitter, args.width, args.height, args.fps, args.codec, args.seed,
                 args.overwrite, progress=not args.no_progress)
    return 0


if __name__ == '__main__':
    sys.exit(main())
