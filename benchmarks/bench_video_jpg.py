"""Benchmark the avi -> jpg conversion (utils/video_jpg_ucf101_hmdb51.py): videos/s and frames/s
of the PyAV backend and, where the ffmpeg program is installed, of the ffmpeg backend, on the same
videos.

    python -m benchmarks.bench_video_jpg                     # on a generated demo set (temporary)
    python -m benchmarks.bench_video_jpg --src data/UCF-101  # on your own <class>/<video> tree

Each backend converts the whole tree into a fresh temporary folder (nothing is kept), --repeat
times; the best run is reported.
"""
import argparse
import os
import shutil
import sys
import tempfile
import time


from utils import video_jpg_ucf101_hmdb51 as v2j


def bench(src, backend, n_jobs, ffmpeg=None, repeat=1, work_dir=None):
    best = None
    for _ in range(repeat):
        out = tempfile.mkdtemp(prefix='bench_%s_' % backend, dir=work_dir)
        try:
            with open(os.devnull, 'w') as null:
                start = time.perf_counter()
                summary = v2j.convert_tree(src, out, n_jobs=n_jobs, backend=backend,
                                           ffmpeg=ffmpeg, progress=False, out=null, err=null)
                seconds = time.perf_counter() - start
        finally:
            shutil.rmtree(out, ignore_errors=True)
        if summary['failed']:
            raise SystemExit('error: %d video(s) failed with the %s backend, e.g. %s: %s'
                             % ((len(summary['failed']), backend) + summary['failed'][0]))
        result = {'videos': summary['converted'], 'frames': summary['frames'], 'seconds': seconds}
        if best is None or seconds < best['seconds']:
            best = result
    return best


def main(argv=None):
    p = argparse.ArgumentParser(allow_abbrev=False,
        description='avi -> jpg throughput (videos/s, frames/s) of the pyav and ffmpeg backends '
                    'of utils/video_jpg_ucf101_hmdb51.py on the same videos.',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--src', default=None, metavar='AVI_ROOT',
                   help='<class>/<video> tree to convert; by default a demo set is generated '
                        'into a temporary folder (scripts/make_demo_dataset.py)')
    p.add_argument('--n_classes', type=int, default=6, help='generated demo set: classes')
    p.add_argument('--n_groups', type=int, default=7, help='generated demo set: groups per class')
    p.add_argument('--n_clips', type=int, default=2, help='generated demo set: clips per group')
    p.add_argument('--n_frames', type=int, default=48, help='generated demo set: frames per video')
    p.add_argument('--n_jobs', type=int, default=v2j.default_jobs(),
                   help='parallel videos, as --n_jobs of the converter')
    p.add_argument('--ffmpeg', default='ffmpeg', metavar='PATH',
                   help='ffmpeg program for the ffmpeg backend (skipped when not found)')
    p.add_argument('--repeat', type=int, default=1, help='runs per backend; the fastest counts')
    args = p.parse_args(argv)

    tmp = tempfile.mkdtemp(prefix='bench_video_jpg_')
    try:
        src = args.src
        if src is None:
            from scripts.make_demo_dataset import make_dataset
            with open(os.devnull, 'w') as null:
                make_dataset(tmp, n_classes=args.n_classes, n_groups=args.n_groups,
                             n_clips=args.n_clips, n_frames=args.n_frames, frames_jitter=0,
                             progress=False,
                             out=null)
            src = os.path.join(tmp, 'UCF-101')
            what = 'generated demo set (%d classes x %d groups x %d clips, ~%d frames, 320x240)' % (
                args.n_classes, args.n_groups, args.n_clips, args.n_frames)
        else:
            what = src
        print('source: %s; %d job(s); best of %d run(s)' % (what, args.n_jobs, args.repeat))
        print('%-8s %7s %8s %9s %9s %10s' % ('backend', 'videos', 'frames', 'seconds', 'videos/s',
                                             'frames/s'))
        ffmpeg = v2j.find_ffmpeg(args.ffmpeg)
        for backend in ('pyav', 'ffmpeg'):
            if backend == 'ffmpeg' and ffmpeg is None:
                print('%-8s skipped: the ffmpeg program (%s) is not installed' % (backend,
                                                                                 args.ffmpeg))
                continue
            r = bench(src, backend, args.n_jobs, ffmpeg, args.repeat, tmp)
            print('%-8s %7d %8d %9.2f %9.1f %10.0f' % (backend, r['videos'], r['frames'],
                                                      r['seconds'], r['videos'] / r['seconds'],
                                                      r['frames'] / r['seconds']))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
