"""Write each video's n_frames file.

    python utils/n_frames_ucf101_hmdb51.py JPG_ROOT [--no_tqdm]

For every JPG_ROOT/<class>/<video>/ folder made by video_jpg_ucf101_hmdb51.py, writes
<video>/n_frames holding the number of frames (the highest image_NNNNN.jpg index, as the
reference did; no newline).  Unfinished conversions (.<video>.partial/ folders) are skipped and
reported, as are folders without frames (n_frames 0) or with gaps in the numbering, and symbolic links
that lead nowhere (dangling, or a loop) where a class or video folder should be; the summary counts them.
"""
import argparse
import os
import sys


from datasets.hdf5 import HDF5_SUFFIX
from datasets.loader import frame_numbers

from core.errors import run_command
from core.files import write_text_atomic
from core.progress import progress
from core.flags import check_output_folder
from utils.video_jpg_ucf101_hmdb51 import PARTIAL_SUFFIX, broken_link


def n_frames_of(video_dir):
    """(highest frame index, number of frame files) of a frames folder (ucf101_json.py --video_path and
    the datasets use the same rule: datasets.loader.frame_numbers)."""
    return frame_numbers(video_dir) or (0, 0)


def write_n_frames(video_dir, n):
    write_text_atomic(os.path.join(video_dir, 'n_frames'), str(n))


def class_process(class_dir, report):
    for name in sorted(os.listdir(class_dir)):
        video_dir = os.path.join(class_dir, name)
        broken = broken_link(video_dir)
        if broken:
            report['broken'].append((video_dir, broken))
            continue
        if not os.path.isdir(video_dir):
            report['hdf5'] += name.endswith(HDF5_SUFFIX)
            continue
        if name.startswith('.'):  # video_jpg's working folders (.<video>.partial) and other hidden ones
            if name.endswith(PARTIAL_SUFFIX):
                report['partial'].append(video_dir)
            continue
        n, count = n_frames_of(video_dir)
        write_n_frames(video_dir, n)
        report['videos'] += 1
        report['frames'] += n
        if n == 0:
            report['empty'].append(video_dir)
        elif count != n:
            report['gaps'].append((video_dir, n, count))


def main(argv=None):
    p = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split('\n\n')[0] + ': JPG_ROOT/<class>/'
                                '<video>/n_frames = number of image_NNNNN.jpg frames.')
    p.add_argument('dir_path', metavar='JPG_ROOT',
                   help='frames tree made by video_jpg_ucf101_hmdb51.py (<class>/<video>/'
                        'image_00001.jpg ...)')
    p.add_argument('--no_tqdm', action='store_true',
                   help='plain progress lines instead of a bar (the default when the output is not a terminal)')
    args = p.parse_args(argv)
    if not os.path.isdir(args.dir_path):
        p.error('JPG_ROOT %s is not a folder' % args.dir_path)
    return run_command(write_tree, args.dir_path, args.no_tqdm, output=args.dir_path)


def write_tree(dir_path, no_tqdm=False):
    """n_frames in every video folder below ``dir_path``, then the report; returns the exit status."""
    check_output_folder(dir_path, 'JPG_ROOT')
    report = {'videos': 0, 'frames': 0, 'partial': [], 'empty': [], 'gaps': [], 'hdf5': 0, 'broken': []}
    for c in sorted(os.listdir(dir_path)):
        broken = broken_link(os.path.join(dir_path, c))
        if broken and not c.startswith('.'):
            report['broken'].append((os.path.join(dir_path, c), broken))
    classes = sorted(c for c in os.listdir(dir_path)
                     if not c.startswith('.') and os.path.isdir(os.path.join(dir_path, c)))
    for class_name in progress(classes, desc='n_frames', unit='class', no_tqdm=no_tqdm):
        class_process(os.path.join(dir_path, class_name), report)
    skipped = len(report['partial']) + len(report['broken'])
    print('wrote n_frames for %d videos (%d frames) in %d classes%s'
          % (report['videos'], report['frames'], len(classes),
             '; %d skipped, %d without frames, %d with gaps (listed below)'
             % (skipped, len(report['empty']), len(report['gaps']))
             if skipped or report['empty'] or report['gaps'] else ''))
    if report['hdf5']:
        print('  note: %d .hdf5 videos hold their frame count themselves (the length of their frames); they '
              'need no n_frames file' % report['hdf5'])
    for d in report['partial']:
        print('  WARNING %s: unfinished conversion, skipped (re-run video_jpg_ucf101_hmdb51.py)' % d)
    for d, what in report['broken']:
        print('  WARNING %s: %s, skipped (point it at a frames folder or remove it)' % (d, what))
    for d in report['empty']:
        print('  WARNING %s: no image_NNNNN.jpg frame (n_frames 0)' % d)
    for d, n, count in report['gaps']:
        print('  WARNING %s: highest frame %d but %d frame files' % (d, n, count))
    return 0


if __name__ == '__main__':
    sys.exit(main())
