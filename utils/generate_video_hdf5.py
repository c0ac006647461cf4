"""Pack videos, or an existing JPEG frame tree, into one HDF5 file per video (for ``--file_type hdf5``).

    python utils/generate_video_hdf5.py SRC_ROOT HDF5_ROOT [--n_jobs N] [--backend pyav|ffmpeg] ...

Sources, found per entry of every ``SRC_ROOT/<class>/`` folder (both kinds may be mixed):

* a video ``<video>.<ext>`` (.avi, .mp4, ... as utils/video_jpg_ucf101_hmdb51.py): decoded into JPEG frames
  exactly as that command does (same backends and options: ``scale=-1:240``, FFmpeg's mjpeg defaults,
  constant-frame-rate timing), then packed;
* a frames folder ``<video>/image_00001.jpg ...`` (what that command wrote): its JPEG files are copied byte
  for byte, nothing is re-encoded, so training on the HDF5 tree sees the JPEG tree's pixels.

Output: ``HDF5_ROOT/<class>/<video>.hdf5``, the layout of the reference's
``util_scripts/generate_video_hdf5.py`` (one dataset ``video``, one variable-length uint8 element per frame
holding that frame's JPEG bytes, frame 1 first; datasets/hdf5.py), which its ``VideoLoaderHDF5`` reads too.
UCF-101 becomes 13,320 files instead of about 2.5 million.

Resumable and crash-safe like the JPEG conversion: each video is written to the hidden
``.<video>.hdf5.partial`` and renamed when complete, so an existing ``<video>.hdf5`` is always whole and
is skipped by a re-run (``--overwrite`` redoes it); a partial file left by a crash is redone. A video that
cannot be read, or a frames folder with a gap in its numbering, is reported with the reason and skipped;
the run ends with a summary and exits 1 if any failed. SRC_ROOT is only read.
"""
import argparse
import os
import shutil
import sys
import time


from datasets.hdf5 import HDF5_SUFFIX, write_video
from datasets.loader import frame_numbers, frame_path
from core.errors import WRITE_ERRNOS, Interrupted, UserError, interruption, run_command
from core.flags import check_flags, check_output_folder
from core.locks import lock_folder
from core.progress import progress as progress_bar
from utils import video_jpg_ucf101_hmdb51 as jpg

PARTIAL_SUFFIX = '.partial'
# The reference's third argument picks the video extension (its generate_video_hdf5.py).
DATASET_EXTENSIONS = {'ucf101': ('.avi',), 'hmdb51': ('.avi',), 'kinetics': ('.mp4',), 'mit': ('.mp4',)}


def find_sources(src_root, extensions=jpg.VIDEO_EXTENSIONS):
    """``[(class_name, video_name, kind, path)]`` (kind 'video' or 'jpg') below ``src_root``, sorted, and the
    problems found (one output name claimed by two sources)."""
    videos, problems = jpg.find_videos(src_root, extensions)  # also the broken links of classes and videos
    sources = {(c, n): (c, n, 'video', p) for c, n, p in videos}
    exts = tuple(e.lower() for e in extensions)
    for class_name in sorted(os.listdir(src_root)):
        class_dir = os.path.join(src_root, class_name)
        if class_name.startswith('.') or not os.path.isdir(class_dir):
            continue
        for name in sorted(os.listdir(class_dir)):
            path = os.path.join(class_dir, name)
            if name.startswith('.'):  # hidden: video_jpg's unfinished .<video>.partial folders
                continue
            broken = jpg.broken_link(path)
            if broken and os.path.splitext(name)[1].lower() not in exts:  # a video's link: find_videos said it
                problems.append((path, broken + ' where a frames folder should be; skipped'))
                continue
            if not os.path.isdir(path):
                continue
            if not (frame_numbers(path) or (0, 0))[1]:
                problems.append((path, 'a folder without image_NNNNN.jpg frames; skipped (extract its '
                                       'frames again, or remove it)'))
                continue
            if (class_name, name) in sources:
                problems.append((path, 'same output %s%s as %s' % (name, HDF5_SUFFIX, sources[class_name, name][3])))
                continue
            sources[class_name, name] = (class_name, name, 'jpg', path)
    return [sources[key] for key in sorted(sources)], problems


def read_frames_folder(folder):
    """The bytes of ``image_00001.jpg`` .. ``image_<n>.jpg``; VideoError if a number is missing."""
    n, count = frame_numbers(folder) or (0, 0)
    if n == 0:
        raise jpg.VideoError('no image_NNNNN.jpg frame in %s' % folder)
    if count != n:
        missing = [i for i in range(1, n + 1) if not os.path.isfile(frame_path(folder, i))]
        raise jpg.VideoError('frames missing from the numbering 1..%d: %s (re-extract this video)'
                             % (n, ', '.join(os.path.basename(frame_path(folder, i)) for i in missing[:3])
                                + (', ...' if len(missing) > 3 else '')))
    frames = []
    for i in range(1, n + 1):
        with open(frame_path(folder, i), 'rb') as f:
            frames.append(f.read())
    return frames


def working_names(dst):
    """The hidden file a video is written to before the rename to ``dst``, and the hidden folder its frames
    are decoded into (videos only)."""
    folder, name = os.path.split(dst)
    return (os.path.join(folder, '.' + name + PARTIAL_SUFFIX),
            os.path.join(folder, '.' + name[:-len(HDF5_SUFFIX)] + '.frames' + PARTIAL_SUFFIX))


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.remove(path)


def _frames_of(kind, src, frames_dir, opts):
    """(JPEG bytes of every frame, warnings) of one source."""
    if kind == 'jpg':
        return read_frames_folder(src), []
    os.makedirs(frames_dir)
    if opts['backend'] == 'ffmpeg':
        _, warnings = jpg.convert_video_ffmpeg(src, frames_dir, opts['size'], opts['qscale'], opts['fps_mode'],
                                               opts['ffmpeg'], opts['threads'])
    else:
        _, warnings = jpg.convert_video_pyav(src, frames_dir, opts['size'], opts['qscale'], opts['fps_mode'],
                                             opts['threads'])
    if warnings and opts.get('strict'):
        raise jpg.VideoError('; '.join(warnings) + ' (--strict)')
    return read_frames_folder(frames_dir), warnings


def process_source(task):
    """Pack one source into ``dst`` (through its hidden working names). Raises only when the output cannot
    be written (a full or read-only disk); a source's own problem is returned as 'failed'."""
    kind, src, dst, opts = task
    start = time.time()
    partial, frames_dir = working_names(dst)
    try:
        for stale in (partial, frames_dir):  # left by an interrupted run
            _remove(stale)
        frames, warnings = _frames_of(kind, src, frames_dir, opts)
        write_video(partial, frames)
        os.replace(partial, dst)
        return src, 'ok', len(frames), warnings, time.time() - start
    except jpg.VideoError as e:
        reason = str(e)
    except OSError as e:
        if e.errno in WRITE_ERRNOS:  # a full or read-only disk is no fault of the video: it stops the run
            raise
        reason = '%s: %s' % (type(e).__name__, e)
    except Exception as e:  # noqa: BLE001 - one bad file must not stop the run
        reason = '%s: %s' % (type(e).__name__, e)
    finally:
        for path in (partial, frames_dir):
            _remove(path)
    return src, 'failed', 0, [reason], time.time() - start


def convert_tree(src_root, dst_root, n_jobs=None, backend='pyav', size=jpg.DEFAULT_SIZE, qscale=None,
                 fps_mode='cfr', ffmpeg=None, overwrite=False, extensions=jpg.VIDEO_EXTENSIONS, strict=False,
                 progress=True, out=sys.stdout, err=sys.stderr, no_tqdm=False):
    """Pack every source below ``src_root``; returns a summary dict (jpg.print_summary prints it). ``no_tqdm``:
    plain progress lines instead of a bar (also when ``err`` is not a terminal)."""

    sources, problems = find_sources(src_root, extensions)
    n_jobs = jpg._default_jobs() if not n_jobs or n_jobs < 0 else int(n_jobs)
    opts = {'backend': backend, 'size': size, 'qscale': qscale, 'fps_mode': fps_mode, 'ffmpeg': ffmpeg,
            'threads': 1 if n_jobs > 1 else 0, 'strict': strict}
    tasks, n_skipped = [], 0
    for class_name, name, kind, path in sources:
        dst = os.path.join(dst_root, class_name, name + HDF5_SUFFIX)
        if not overwrite and os.path.isfile(dst):  # only ever made by a rename: complete
            n_skipped += 1
            continue
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        tasks.append((kind, path, dst, opts))
    summary = {'found': len(sources), 'skipped': n_skipped, 'converted': 0, 'frames': 0,
               'failed': list(problems), 'warnings': [], 'seconds': 0.0}
    n_frame_folders = sum(1 for task in tasks if task[0] == 'jpg')
    print('%d videos in %s: %d already packed, %d to pack (%d from JPEG folders, %d from videos with the %s '
          'backend; %d job%s)' % (len(sources), src_root, n_skipped, len(tasks), n_frame_folders,
                                  len(tasks) - n_frame_folders, backend, n_jobs, '' if n_jobs == 1 else 's'),
          file=out, flush=True)
    start = time.time()
    bar = progress_bar(total=len(tasks), desc='hdf5', unit='video', disable=not progress or not tasks, file=err,
                       no_tqdm=no_tqdm)

    def record(result):
        path, status, n, messages, _ = result
        if status == 'ok':
            summary['converted'] += 1
            summary['frames'] += n
            summary['warnings'].extend((path, m) for m in messages)
        else:
            summary['failed'].append((path, messages[0]))
            bar.write('FAILED %s: %s' % (path, messages[0]), file=err)
        bar.update(1)

    try:
        jpg._run(tasks, n_jobs, record, work=process_source)
    finally:
        bar.close()
    summary['seconds'] = time.time() - start
    return summary


def build_parser():
    p = argparse.ArgumentParser(
        description='Pack <class>/<video>.<ext> videos or <class>/<video>/image_00001.jpg frame folders into '
                    "<class>/<video>.hdf5 files (the reference's HDF5 layout; train with --file_type hdf5). "
                    'Resumable: re-run the same command after an interruption.',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter, allow_abbrev=False)
    p.add_argument('dir_path', metavar='SRC_ROOT',
                   help='one folder per class holding videos (e.g. UCF-101/) and/or frame folders made by '
                        'utils/video_jpg_ucf101_hmdb51.py (their JPEG bytes are copied, not re-encoded); only read')
    p.add_argument('dst_path', metavar='HDF5_ROOT',
                   help='output tree <class>/<video>.hdf5; created if missing; must not be inside SRC_ROOT')
    p.add_argument('dataset', nargs='?', choices=sorted(DATASET_EXTENSIONS), default=None,
                   help="optional, the reference's third argument: take only its video extension (.avi for "
                        'ucf101/hmdb51, .mp4 for kinetics/mit) instead of --ext')
    jpg.add_conversion_options(p)
    return p


def check_args(args):
    """The checks before any work; returns the ffmpeg program (--backend ffmpeg) or None."""
    src, dst = args.dir_path, args.dst_path
    if not os.path.isdir(src):
        raise UserError('SRC_ROOT %s is not a folder' % src)
    if jpg._is_within(dst, src):
        raise UserError('HDF5_ROOT %s is inside SRC_ROOT %s; the source tree is never written to, choose an '
                        'output folder outside it' % (dst, src))
    check_output_folder(dst, 'HDF5_ROOT')
    if args.backend == 'ffmpeg':
        ffmpeg = jpg.find_ffmpeg(args.ffmpeg)
        if ffmpeg is None:
            raise UserError("--backend ffmpeg needs the ffmpeg program, but '%s' was not found; pass --ffmpeg PATH "
                            'or use the default --backend pyav' % args.ffmpeg)
        return ffmpeg
    return None


def run(args):
    ffmpeg = check_args(args)
    exts = DATASET_EXTENSIONS[args.dataset] if args.dataset else tuple(
        e if e.startswith('.') else '.' + e for e in args.ext)
    os.makedirs(args.dst_path, exist_ok=True)
    lock_folder(args.dst_path, 'HDF5_ROOT')  # two packers into one tree would fail each other
    try:
        summary = convert_tree(args.dir_path, args.dst_path, n_jobs=args.n_jobs, backend=args.backend,
                               size=args.size, qscale=args.qscale, fps_mode=args.fps_mode, ffmpeg=ffmpeg,
                               overwrite=args.overwrite, extensions=exts, strict=args.strict,
                               progress=not args.no_progress, no_tqdm=args.no_tqdm)
    except BaseException as e:
        signum = interruption(e)
        if signum is None:
            raise
        raise Interrupted(signum, 'interrupted: finished .hdf5 files are kept, the unfinished ones are redone '
                                  'when the same command is run again') from None
    jpg.print_summary(summary)
    if summary['found'] == 0:
        print('warning: nothing found (expected SRC_ROOT/<class>/<video>%s or SRC_ROOT/<class>/<video>/'
              'image_00001.jpg)' % exts[0], file=sys.stderr)
    return 1 if summary['failed'] else 0


def main(argv=None):
    """Exit status 0, or 1 when a video failed; bad input, an unwritable HDF5_ROOT and signals end with one
    'error: ...' line (core.errors.run_command)."""
    parser = build_parser()
    args = check_flags(parser, parser.parse_args(argv))
    return run_command(run, args, output=args.dst_path)


if __name__ == '__main__':
    sys.exit(main())
