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

import numpy as np

from core.files import write_json_atomic
from core.progress import progress as progress_bar
from datasets.synthetic import MOTION_CLASSES, encode_avi, motion_frames

CLASS_ORDER = MOTION_CLASSES  # --n_classes N keeps the first N
PARAMS_FILE = '.demo_params.json'


# --------------------------------------------------------------------------------------------------
# files


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


def _write_videos(video_root, jobs, n_frames, frames_jitter, width, height, fps, codec, seed, progress,
                  no_tqdm=False):
    """One .avi per (class, group, clip) of ``jobs``; returns the number of frames written."""
    total_frames = 0
    for class_name, g, k in progress_bar(jobs, desc='videos', unit='video', disable=not progress, no_tqdm=no_tqdm):
        ci = CLASS_ORDER.index(class_name)
        video_rng = np.random.default_rng([seed, ci, g, k, 1])
        n = n_frames + (int(video_rng.integers(-frames_jitter, frames_jitter + 1))
                        if frames_jitter else 0)
        n = max(1, n)
        frames = motion_frames(class_name, video_rng, n, width, height)
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
                 progress=True, out=sys.stdout, no_tqdm=False):
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
                                 progress, no_tqdm)
    _write_split_lists(list_dir, classes, n_groups, n_clips)
    write_json_atomic(params, params_path, indent=None)  # written last: it marks a complete dataset
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
    p.add_argument('--no_tqdm', action='store_true',
                   help='plain progress lines instead of a bar (the default when the output is not a terminal)')
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
                 args.overwrite, progress=not args.no_progress, no_tqdm=args.no_tqdm)
    return 0


if __name__ == '__main__':
    sys.exit(main())
