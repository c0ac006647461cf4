"""Convert a UCF-101 / HMDB-51 style video tree to JPEG frames.

    python utils/video_jpg_ucf101_hmdb51.py AVI_ROOT JPG_ROOT [--n_jobs N] [--backend pyav|ffmpeg]

Every ``AVI_ROOT/<class>/<video>.<ext>`` (.avi, .mp4, .mkv, .webm, ...) becomes
``JPG_ROOT/<class>/<video>/image_00001.jpg, image_00002.jpg, ...``, which is what the reference
(kenshohara/3D-ResNets-PyTorch, ``utils/video_jpg_ucf101_hmdb51.py``) produced with

    ffmpeg -i <video> -vf scale=-1:240 <dst>/image_%05d.jpg

The default backend does the same work in-process through PyAV (the FFmpeg libraries in its wheel),
so no ffmpeg binary is needed:

* the frames go through FFmpeg's own ``scale`` filter (bicubic): landscape videos to height 240,
  portrait ones to width 240 (``--size``), the other side keeping the aspect ratio, rounded as
  ``scale=-1:240`` rounds;
* frame timing follows the ffmpeg command line's constant-frame-rate output (``-fps_mode cfr``, what
  it uses for image sequences): a frame missing from the container's timeline (an AVI "dropped
  frame") is filled with a copy of its neighbour exactly as ffmpeg does, so the frame count equals
  the one the command above writes (``--fps_mode passthrough`` writes one file per decoded frame);
* the JPEGs come from FFmpeg's ``mjpeg`` encoder with the command line's defaults (rate control at
  200 kb/s, qscale 2..31); ``--qscale Q`` fixes the quality instead, as ``-q:v Q`` does.
  On the videos checked (mpeg4/mjpeg AVI, H.264 MP4, MKV, VP8/VP9 WebM, scaled or not) the decoded
  pixels equal those of the ffmpeg command above.

``--backend ffmpeg`` runs the ffmpeg program itself (same filter and options) when it is installed.

The conversion is resumable and crash-safe: a video is written into ``.<video>.partial/`` (a hidden
name, which no video produces) and renamed to ``<video>/`` only when all its frames are on disk, so an
existing ``<video>/`` folder is always complete.  A re-run skips complete videos and redoes interrupted
ones; a ``<video>/`` folder it did not make (no frame 1) is reported, never removed.  Ctrl-C or SIGTERM
stops the workers and ends with one line; the same command continues.  A video that cannot be read
(corrupt, empty, no video stream) is reported with the reason and skipped; the run ends with a
summary and exits with status 1 if any video failed.  Nothing is ever written below AVI_ROOT.
"""
import argparse
import errno
import os
import shutil
import subprocess
import sys
import time
from fractions import Fraction


VIDEO_EXTENSIONS = ('.avi', '.mp4', '.mkv', '.webm', '.mov', '.m4v', '.mpg', '.mpeg', '.flv',
                    '.wmv', '.ogv', '.3gp')
from datasets.loader import FRAME_PATTERN, count_frames
from core.errors import WRITE_ERRNOS, Interrupted, UserError, child_dies_with_parent, die_with_parent, interruption, run_command  # noqa: E501
from core.locks import lock_folder
from core.flags import check_flags, check_output_folder
from core.progress import progress as progress_bar

PARTIAL_SUFFIX = '.partial'
DEFAULT_SIZE = 240
# AVCodecContext's default bit rate, which the ffmpeg command line leaves in place for the mjpeg
# encoder when no -q:v / -b:v is given.
FFMPEG_DEFAULT_BIT_RATE = 200000


class VideoError(UserError):
    """A video that cannot be converted; the message says why (the video is reported and skipped)."""


# --------------------------------------------------------------------------------------------------
# geometry and filter


def scaled_size(width, height, size=DEFAULT_SIZE):
    """Output (width, height): landscape videos get height `size`, portrait (and square) ones
    width `size`; the other side is rounded like ffmpeg's ``scale=-1:size`` (av_rescale: to
    nearest, halves up)."""
    if width > height:
        return (width * size + height // 2) // height, size
    return size, (height * size + width // 2) // width


def scale_filter_args(size=DEFAULT_SIZE):
    """Arguments of FFmpeg's scale filter: ``-1:size`` for landscape, ``size:-1`` for portrait."""
    return "w='if(gt(iw,ih),-1,{0})':h='if(gt(iw,ih),{0},-1)'".format(int(size))


def _jpeg_pix_fmt(src_pix_fmt):
    """The full-range YUV layout ffmpeg's format negotiation picks for the mjpeg encoder."""
    name = src_pix_fmt or ''
    if '444' in name or name.startswith(('rgb', 'bgr', 'gbr', 'argb', 'abgr')):
        return 'yuvj444p'
    if '422' in name:
        return 'yuvj422p'
    return 'yuvj420p'


# --------------------------------------------------------------------------------------------------
# ffmpeg's constant-frame-rate output (fftools ffmpeg_filter.c, video_sync_process)


class CfrSync:
    """How many times each decoded frame (and its predecessor) is written in ffmpeg's CFR mode.

    Times are in output frame periods.  ``push(t, duration)`` returns ``(n_prev, n_total)``: write
    the previous frame ``n_prev`` times, then the current frame ``n_total - n_prev`` times.
    ``finish()`` returns how many more copies of the last frame ffmpeg writes at the end.
    """

    def __init__(self, vscfr=False):
        # ffmpeg uses "vscfr" (no copies of the first frame to fill a late start) when the input
        # file has a single stream, plain "cfr" otherwise.
        self.vscfr = vscfr
        self.next_pts = 0
        self.n_out = 0
        self.hist = [0, 0, 0]

    def push(self, t, duration):
        delta0 = t - self.next_pts
        delta = delta0 + duration
        n_prev, n = 0, 1
        if delta0 < 0 and delta > 0:
            duration += delta0
            delta0 = 0.0
        if self.vscfr and self.n_out == 0 and delta0 >= 0.5:
            delta, delta0 = duration, 0.0
            self.next_pts = int(_c_round(t))
        if delta < -1.1:
            n = 0
        elif delta > 1.1:
            n = int(_c_round(delta))
            if delta0 > 1.1:
                n_prev = int(_c_round(delta0 - 0.6))
        self.hist = [n_prev] + self.hist[:2]
        self.next_pts += n
        self.n_out += n
        return n_prev, n

    def finish(self):
        n = sorted(self.hist)[1]
        self.next_pts += n
        return n


def _c_round(x):
    """C's llrint/llrintf in the default rounding mode (half to even), like Python's round."""
    return round(x)


class BestEffortPts:
    """libavcodec's frame->best_effort_timestamp (decode.c, guess_correct_pts): the frame's pts
    unless pts have been out of order more often than the packets' dts."""

    def __init__(self):
        self.last_pts = self.last_dts = None
        self.faulty_pts = self.faulty_dts = 0

    def __call__(self, pts, dts):
        if dts is not None:
            self.faulty_dts += self.last_dts is not None and dts <= self.last_dts
            self.last_dts = dts
        elif pts is not None:
            self.last_dts = pts
        if pts is not None:
            self.faulty_pts += self.last_pts is not None and pts <= self.last_pts
            self.last_pts = pts
        elif dts is not None:
            self.last_pts = dts
        if (self.faulty_pts <= self.faulty_dts or dts is None) and pts is not None:
            return pts
        return dts


def rotation_filters(rotation):
    """Filters that ffmpeg's default -autorotate inserts for a display rotation (degrees,
    counter-clockwise as PyAV reports it)."""
    theta = (-float(rotation or 0)) % 360.0
    if abs(theta - 90) < 1.0:
        return [('transpose', 'clock')]
    if abs(theta - 180) < 1.0:
        return [('hflip', None), ('vflip', None)]
    if abs(theta - 270) < 1.0:
        return [('transpose', 'cclock')]
    if 1.0 < theta < 359.0:
        return [('rotate', '%.10f' % (theta * 3.141592653589793 / 180))]
    return []


# --------------------------------------------------------------------------------------------------
# PyAV backend


def _write_jpeg(path, data):
    with open(path, 'wb') as f:
        f.write(data)


class _JpegWriter:
    """Scale filter + mjpeg encoder + numbered files, the way the ffmpeg command line does it."""

    def __init__(self, out_dir, size, qscale, rate, src_time_base):
        self.out_dir = out_dir
        self.size = size
        self.qscale = qscale
        self.rate = rate
        self.src_time_base = src_time_base
        self.graphs = {}
        self.encoder = None
        self.n_written = 0

    def _graph(self, frame):
        import av
        rotation = getattr(frame, 'rotation', 0) or 0
        key = (frame.width, frame.height, frame.format.name, rotation)
        graph = self.graphs.get(key)
        if graph is None:
            graph = av.filter.Graph()
            src = graph.add_buffer(width=frame.width, height=frame.height, format=frame.format,
                                   time_base=self.src_time_base)
            for name, args in rotation_filters(rotation):
                node = graph.add(name, args) if args else graph.add(name)
                src.link_to(node)
                src = node
            if self.encoder is None:
                scale = graph.add('scale', scale_filter_args(self.size))
            else:  # the resolution changed mid-stream: keep the first output size
                scale = graph.add('scale', '%d:%d' % (self.encoder.width, self.encoder.height))
            fmt = graph.add('format', _jpeg_pix_fmt(frame.format.name) if self.encoder is None
                            else self.encoder.pix_fmt)
            sink = graph.add('buffersink')
            src.link_to(scale)
            scale.link_to(fmt)
            fmt.link_to(sink)
            graph.configure()
            self.graphs[key] = graph
        return graph

    def scale(self, frame):
        import av
        graph = self._graph(frame)
        graph.push(frame)
        out = []
        while True:
            try:
                out.append(graph.pull())
            except (av.error.BlockingIOError, av.error.EOFError):
                break
        return out

    def _open_encoder(self, frame):
        import av
        enc = av.CodecContext.create('mjpeg', 'w')
        enc.width = frame.width
        enc.height = frame.height
        enc.pix_fmt = frame.format.name
        enc.time_base = Fraction(self.rate.denominator, self.rate.numerator)
        enc.framerate = self.rate
        enc.bit_rate = FFMPEG_DEFAULT_BIT_RATE
        if self.qscale:
            # -q:v Q: every frame at quantiser Q (rate control clipped to [Q, Q])
            enc.qmin = enc.qmax = int(self.qscale)
        enc.thread_count = 1
        enc.open()
        self.encoder = enc

    def write(self, scaled_frame, copies=1):
        if copies <= 0:
            return
        if self.encoder is None:
            self._open_encoder(scaled_frame)
        for _ in range(copies):
            scaled_frame.pts = self.n_written
            scaled_frame.time_base = self.encoder.time_base
            for packet in self.encoder.encode(scaled_frame):
                self._save(packet)

    def _save(self, packet):
        self.n_written += 1
        _write_jpeg(os.path.join(self.out_dir, FRAME_PATTERN % self.n_written), bytes(packet))

    def close(self):
        if self.encoder is not None:
            for packet in self.encoder.encode(None):
                self._save(packet)


def _open_video(src):
    """The PyAV container of `src` and its first video stream; VideoError when there is none."""
    import av
    if os.path.getsize(src) == 0:
        raise VideoError('empty file (0 bytes)')
    try:
        container = av.open(src, metadata_errors='ignore')
    except av.error.FFmpegError as e:
        raise VideoError('cannot open: %s' % _av_reason(e))
    except OSError as e:
        raise VideoError('cannot open: %s' % e)
    if not container.streams.video:
        container.close()
        raise VideoError('no video stream')
    return container, container.streams.video[0]


def _frame_rate(stream):
    """The output frame rate the ffmpeg command line picks for the stream (25 when unknown)."""
    rate = stream.guessed_rate or stream.average_rate or stream.base_rate
    if not rate or rate <= 0:
        rate = Fraction(25)
    return Fraction(rate).limit_denominator(1001000)


class _FrameEmitter:
    """Decoded frames -> JPEGs: each frame's time in output periods (fftools: best-effort pts, else
    extrapolated), scaled, and written once (passthrough) or as often as constant-rate output needs."""

    def __init__(self, writer, rate, time_base, ts_offset, fps_mode, sync):
        self.writer, self.rate, self.tb, self.ts_offset = writer, rate, time_base, ts_offset
        self.fps_mode, self.sync = fps_mode, sync
        self.best_effort = BestEffortPts()
        self.prev, self.last_t, self.last_dur, self.n_decoded = None, None, 1.0, 0

    def frame_time(self, frame):
        pts = self.best_effort(frame.pts, frame.dts)
        if pts is not None:
            t = float((pts * self.tb + self.ts_offset) * self.rate)
            if t != round(t):
                t += (1.0 if t > 0 else -1.0) / (1 << 17)
        elif self.last_t is None:
            t = 0.0
        else:
            t = self.last_t + self.last_dur
        dur = float(frame.duration * self.tb * self.rate) if frame.duration else 1.0
        self.last_t, self.last_dur = t, dur
        return t, dur

    def __call__(self, frame):
        t, dur = self.frame_time(frame)
        self.n_decoded += 1
        for scaled in self.writer.scale(frame):
            if self.fps_mode == 'passthrough':
                self.writer.write(scaled)
            else:
                n_prev, n = self.sync.push(t, dur)
                if n_prev and self.prev is not None:
                    self.writer.write(self.prev, n_prev)
                else:
                    n_prev = 0
                self.writer.write(scaled, n - n_prev)
            self.prev = scaled

    def finish(self):
        if self.fps_mode != 'passthrough' and self.prev is not None:
            self.writer.write(self.prev, self.sync.finish())
        self.writer.close()


def _decode(container, stream, emit):
    """Every frame of the stream through ``emit``, decoding errors counted as ffmpeg reports them
    (and skipped); returns (number of errors, the last one)."""
    import av
    n_errors, last_error = 0, None
    try:
        for packet in container.demux(stream):
            if packet.size == 0:  # the end-of-stream marker; the decoder is drained below
                continue
            try:
                frames = packet.decode()
            except av.error.FFmpegError as e:  # like ffmpeg: report and go on
                n_errors, last_error = n_errors + 1, _av_reason(e)
                continue
            for frame in frames:
                emit(frame)
    except av.error.FFmpegError as e:  # a read error ends the input, as in ffmpeg
        n_errors, last_error = n_errors + 1, 'read error: %s' % _av_reason(e)
    try:
        for frame in stream.codec_context.decode(None):
            emit(frame)
    except av.error.FFmpegError as e:
        n_errors, last_error = n_errors + 1, _av_reason(e)
    return n_errors, last_error


def _conversion_warnings(n_written, expected, n_errors, last_error):
    if n_written == 0:
        reason = 'no frames decoded'
        if last_error:
            reason += ' (%d decoding error(s), last: %s)' % (n_errors, last_error)
        raise VideoError(reason)
    warnings = []
    if n_errors:
        warnings.append('%d decoding error(s), last: %s; wrote the %d frame(s) that decoded'
                        % (n_errors, last_error, n_written))
    # AVI headers count placeholder packets too, so only a clear shortfall (a truncated file)
    # is worth a warning
    if expected and n_written < 0.9 * expected - 2:
        warnings.append('the container announces %d frames, only %d were written (truncated '
                        'file?)' % (expected, n_written))
    return warnings


def convert_video_pyav(src, out_dir, size=DEFAULT_SIZE, qscale=None, fps_mode='cfr', threads=1):
    """Decode `src` and write its frames as JPEGs into `out_dir` (which must exist).

    Returns ``(n_frames, warnings)``; raises VideoError when nothing usable can be read.
    """
    container, stream = _open_video(src)
    with container:
        cc = stream.codec_context
        cc.thread_count = max(0, int(threads))
        if threads != 1:
            cc.thread_type = 'AUTO'
        rate = _frame_rate(stream)
        tb = stream.time_base or Fraction(1, 1000000)
        # ffmpeg shifts the file to start at 0
        ts_offset = -container.start_time / 1e6 if container.start_time is not None else 0.0
        writer = _JpegWriter(out_dir, size, qscale, rate, tb)
        emit = _FrameEmitter(writer, rate, tb, ts_offset, fps_mode, CfrSync(vscfr=len(container.streams) == 1))
        n_errors, last_error = _decode(container, stream, emit)
        emit.finish()
        return writer.n_written, _conversion_warnings(writer.n_written, stream.frames, n_errors, last_error)


def _av_reason(e):
    msg = getattr(e, 'strerror', None) or str(e)
    return str(msg).strip()


# --------------------------------------------------------------------------------------------------
# ffmpeg-program backend


def find_ffmpeg(path=None):
    """Full path of the ffmpeg program (`path`, or 'ffmpeg' on PATH), or None."""
    return shutil.which(path or 'ffmpeg')


def convert_video_ffmpeg(src, out_dir, size=DEFAULT_SIZE, qscale=None, fps_mode='cfr',
                         ffmpeg='ffmpeg', threads=1):
    cmd = [ffmpeg, '-nostdin', '-hide_banner', '-loglevel', 'error', '-y', '-i', src,
           '-vf', 'scale=' + scale_filter_args(size), '-threads', str(max(0, int(threads)))]
    if fps_mode == 'passthrough':
        cmd += ['-fps_mode', 'passthrough']
    if qscale:
        cmd += ['-q:v', str(int(qscale))]
    cmd.append(os.path.join(out_dir.replace('%', '%%'), FRAME_PATTERN))
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              preexec_fn=child_dies_with_parent())  # no ffmpeg left writing after a kill -9
    except OSError as e:
        raise VideoError('cannot run %s: %s' % (ffmpeg, e))
    err = proc.stderr.decode('utf-8', 'replace').strip().splitlines()
    last = err[-1].strip() if err else ''
    n = count_frames(out_dir) or 0
    if proc.returncode != 0:
        raise VideoError('ffmpeg exited with status %d%s' % (proc.returncode,
                                                                  ': ' + last if last else ''))
    if n == 0:
        raise VideoError('no frames decoded' + (': ' + last if last else ''))
    return n, (['ffmpeg: ' + last] if last else [])


# --------------------------------------------------------------------------------------------------
# the tree


def is_complete(video_dir):
    """A finished output folder: it exists (it is only ever created by a rename) and has frame 1."""
    return os.path.isfile(os.path.join(video_dir, FRAME_PATTERN % 1))


def broken_link(path):
    """'a dangling symbolic link' / 'a symbolic link loop' for a link whose target cannot be reached, else
    None (such an entry is neither a file nor a folder, so a listing would skip it without a word)."""
    if not os.path.islink(path):
        return None
    try:
        os.stat(path)
    except OSError as e:
        return 'a symbolic link loop' if e.errno == errno.ELOOP else 'a dangling symbolic link'
    return None


def find_videos(src_root, extensions=VIDEO_EXTENSIONS):
    """``[(class_name, video_name, path)]`` for every ``<class>/<video>.<ext>`` below `src_root`,
    sorted, plus a list of problems (same name with two extensions; a class folder or a video that is a
    symbolic link leading nowhere: dangling or a loop)."""
    exts = tuple(e.lower() for e in extensions)
    videos, seen, problems = [], {}, []
    for class_name in sorted(os.listdir(src_root)):
        class_dir = os.path.join(src_root, class_name)
        broken = broken_link(class_dir)
        if broken and not class_name.startswith('.'):
            problems.append((class_dir, broken + ' where a class folder should be; skipped'))
            continue
        if class_name.startswith('.') or not os.path.isdir(class_dir):
            continue
        for file_name in sorted(os.listdir(class_dir)):
            path = os.path.join(class_dir, file_name)
            name, ext = os.path.splitext(file_name)
            if file_name.startswith('.') or ext.lower() not in exts:
                continue
            broken = broken_link(path)
            if broken:
                problems.append((path, broken + '; skipped'))
                continue
            if not os.path.isfile(path):
                continue
            key = (class_name, name)
            if key in seen:
                problems.append((path, 'same output folder as %s' % seen[key]))
                continue
            seen[key] = path
            videos.append((class_name, name, path))
    return videos, problems


def _is_within(path, root):
    path, root = os.path.realpath(path), os.path.realpath(root)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def working_dir(dst):
    """The folder a video is written into before the rename to ``dst``: a hidden name (find_videos skips
    hidden files, so no video's output can be called that)."""
    return os.path.join(os.path.dirname(dst), '.' + os.path.basename(dst) + PARTIAL_SUFFIX)


def process_video(task):
    """Convert one video into ``working_dir(dst)`` and rename it to ``<dst>``. Raises only when the output
    cannot be written (a full or read-only disk); a video's own problem is returned as 'failed'."""
    src, dst, opts = task
    start = time.time()
    partial = working_dir(dst)
    try:
        if os.path.lexists(partial):
            shutil.rmtree(partial)
        if os.path.isdir(dst) and not os.path.islink(dst) and not os.listdir(dst):
            os.rmdir(dst)  # an empty folder in the way: nothing to lose
        if os.path.lexists(dst):
            if not is_complete(dst):
                raise VideoError('%s exists but is no finished conversion (no %s); it was not made here, so '
                                 'it is left alone: move it away and re-run' % (dst, FRAME_PATTERN % 1))
            shutil.rmtree(dst)  # --overwrite of a finished conversion
        os.makedirs(partial)
        if opts['backend'] == 'ffmpeg':
            n, warnings = convert_video_ffmpeg(src, partial, opts['size'], opts['qscale'],
                                               opts['fps_mode'], opts['ffmpeg'], opts['threads'])
        else:
            n, warnings = convert_video_pyav(src, partial, opts['size'], opts['qscale'],
                                             opts['fps_mode'], opts['threads'])
        if warnings and opts.get('strict'):
            raise VideoError('; '.join(warnings) + ' (--strict)')
        os.rename(partial, dst)
        return src, 'ok', n, warnings, time.time() - start
    except VideoError as e:
        reason = str(e)
    except OSError as e:
        if e.errno not in WRITE_ERRNOS:
            reason = '%s: %s' % (type(e).__name__, e)
        else:  # a full or read-only disk is no fault of the video: it stops the run
            shutil.rmtree(partial, ignore_errors=True)
            raise
    except Exception as e:  # noqa: BLE001 - one bad file must not stop the run
        reason = '%s: %s' % (type(e).__name__, e)
    shutil.rmtree(partial, ignore_errors=True)
    return src, 'failed', 0, [reason], time.time() - start


def default_jobs():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _plan(videos, dst_root, overwrite, opts):
    """(videos skipped as complete, process_video tasks); creates the class folders of the tasks."""
    skipped, tasks, made = [], [], set()
    for class_name, name, path in videos:
        dst = os.path.join(dst_root, class_name, name)
        if not overwrite and is_complete(dst):
            skipped.append(path)
            continue
        class_dst = os.path.dirname(dst)
        if class_dst not in made:
            os.makedirs(class_dst, exist_ok=True)
            made.add(class_dst)
        tasks.append((path, dst, opts))
    return skipped, tasks


def _end_on_signals():
    """Initializer of the conversion workers: Ctrl-C and SIGTERM (sent to the whole process group) end a
    worker at once and silently; the parent reports the interruption."""
    import signal
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_DFL)
    die_with_parent()  # and end with the parent (kill -9, the OOM killer)


def _run(tasks, n_jobs, record, work=process_video):
    """``work`` (process_video) on every task (in n_jobs worker processes), each result to ``record``.

    A process pool that survives its workers' death (concurrent.futures; multiprocessing.Pool deadlocks
    when a worker dies holding its queue's lock, as a signal to the process group does)."""
    if n_jobs == 1 or len(tasks) <= 1:
        for task in tasks:
            record(work(task))
        return
    from concurrent.futures import ProcessPoolExecutor, as_completed
    executor = ProcessPoolExecutor(min(n_jobs, len(tasks)), initializer=_end_on_signals)
    try:
        for future in as_completed([executor.submit(work, task) for task in tasks]):
            record(future.result())
    except BaseException:
        executor.shutdown(wait=False, cancel_futures=True)
        raise
    executor.shutdown()


def convert_tree(src_root, dst_root, n_jobs=None, backend='pyav', size=DEFAULT_SIZE, qscale=None,
                 fps_mode='cfr', ffmpeg=None, overwrite=False, extensions=VIDEO_EXTENSIONS,
                 strict=False, progress=True, out=sys.stdout, err=sys.stderr, no_tqdm=False):
    """Convert every video below `src_root`; returns a summary dict (see main()). ``progress``: False shows no
    progress; ``no_tqdm``: plain lines instead of a bar (also when ``err`` is not a terminal)."""

    videos, problems = find_videos(src_root, extensions)
    n_jobs = default_jobs() if not n_jobs or n_jobs < 0 else int(n_jobs)
    opts = {'backend': backend, 'size': size, 'qscale': qscale, 'fps_mode': fps_mode,
            'ffmpeg': ffmpeg, 'threads': 1 if n_jobs > 1 else 0, 'strict': strict}
    skipped, tasks = _plan(videos, dst_root, overwrite, opts)
    summary = {'found': len(videos), 'skipped': len(skipped), 'converted': 0, 'frames': 0,
               'failed': [(p, r) for p, r in problems], 'warnings': [], 'seconds': 0.0}
    print('%d videos in %s: %d already converted, %d to convert (%s backend, %d job%s)'
          % (len(videos), src_root, len(skipped), len(tasks), backend, n_jobs,
             '' if n_jobs == 1 else 's'), file=out, flush=True)
    start = time.time()
    bar = progress_bar(total=len(tasks), desc='frames', unit='video', disable=not progress or not tasks, file=err,
                       no_tqdm=no_tqdm)

    def record(result):
        path, status, n, messages, _ = result
        if status == 'ok':
            summary['converted'] += 1
            summary['frames'] += n
            for m in messages:
                summary['warnings'].append((path, m))
        else:
            summary['failed'].append((path, messages[0]))
            bar.write('FAILED %s: %s' % (path, messages[0]), file=err)
        bar.update(1)

    try:
        _run(tasks, n_jobs, record)
    finally:
        bar.close()
    summary['seconds'] = time.time() - start
    return summary


def print_summary(summary, out=sys.stdout):
    s = summary
    rate = s['frames'] / s['seconds'] if s['seconds'] > 0 else 0.0
    print('done in %.1f s: %d converted (%d frames, %.0f frames/s), %d already complete, %d failed'
          % (s['seconds'], s['converted'], s['frames'], rate, s['skipped'], len(s['failed'])),
          file=out)
    if s['warnings']:
        print('%d warning(s):' % len(s['warnings']), file=out)
        for path, msg in s['warnings']:
            print('  WARNING %s: %s' % (path, msg), file=out)
    if s['failed']:
        print('%d video(s) failed (not converted; fix or remove them and re-run):' % len(s['failed']),
              file=out)
        for path, msg in s['failed']:
            print('  FAILED %s: %s' % (path, msg), file=out)


def build_parser():
    p = argparse.ArgumentParser(allow_abbrev=False,
        description='Convert <class>/<video>.<ext> videos to <class>/<video>/image_00001.jpg ... '
                    'frames (short side scaled to 240 like ffmpeg -vf scale=-1:240). Resumable: '
                    're-run the same command after an interruption.',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('dir_path', metavar='AVI_ROOT',
                   help='source tree: one folder per class holding the videos (e.g. UCF-101/ or '
                        'the unpacked HMDB-51 folders); it is only read')
    p.add_argument('dst_dir_path', metavar='JPG_ROOT',
                   help='output tree: <class>/<video>/image_%%05d.jpg; created if missing; must '
                        'not be inside AVI_ROOT')
    add_conversion_options(p)
    return p


def add_conversion_options(p):
    """The options of decoding and encoding frames, shared with utils/generate_video_hdf5.py."""
    p.add_argument('--n_jobs', type=int, default=default_jobs(),
                   help='videos converted in parallel (processes); <= 0 means all cores')
    p.add_argument('--backend', choices=['pyav', 'ffmpeg'], default='pyav',
                   help='pyav: FFmpeg libraries through PyAV, in-process (no ffmpeg program '
                        'needed); ffmpeg: run the ffmpeg program (must be installed)')
    p.add_argument('--ffmpeg', default='ffmpeg', metavar='PATH',
                   help='the ffmpeg program used by --backend ffmpeg')
    p.add_argument('--size', type=int, default=DEFAULT_SIZE,
                   help='length of the short side in pixels (height of landscape videos, width '
                        'of portrait ones); the other side keeps the aspect ratio')
    p.add_argument('--qscale', type=int, default=None, metavar='Q',
                   help='fixed JPEG quantiser 2 (best, largest) .. 31, like ffmpeg -q:v Q; by '
                        "default ffmpeg's own default mjpeg settings (rate control at 200 kb/s), "
                        'which is what the reference data was made with')
    p.add_argument('--fps_mode', choices=['cfr', 'passthrough'], default='cfr',
                   help="cfr: frame timing as the ffmpeg command writes image sequences (fills "
                        "frames missing from a video's timeline, e.g. AVI dropped frames, with "
                        "copies); passthrough: exactly one image per decoded frame")
    p.add_argument('--ext', nargs='+', default=list(VIDEO_EXTENSIONS), metavar='EXT',
                   help='file extensions taken as videos (case-insensitive)')
    p.add_argument('--strict', action='store_true',
                   help='count a video that decodes only in part (decoding errors, truncated '
                        'file) as failed instead of converting its readable frames with a warning')
    p.add_argument('--overwrite', action='store_true',
                   help='convert again videos whose output is already complete')
    p.add_argument('--no_progress', action='store_true', help='no progress bar')
    p.add_argument('--no_tqdm', action='store_true',
                   help='plain progress lines instead of a bar (the default when the output is not a terminal)')


def check_args(args):
    """The checks before any work: folders, the backend's program or library."""
    src, dst = args.dir_path, args.dst_dir_path
    if not os.path.isdir(src):
        raise UserError('AVI_ROOT %s is not a folder' % src)
    if _is_within(dst, src):
        raise UserError('JPG_ROOT %s is inside AVI_ROOT %s; the source tree is never written to, choose an '
                        'output folder outside it' % (dst, src))
    check_output_folder(dst, 'JPG_ROOT')
    if args.backend == 'ffmpeg':
        ffmpeg = find_ffmpeg(args.ffmpeg)
        if ffmpeg is None:
            raise UserError("--backend ffmpeg needs the ffmpeg program, but '%s' was not found (not installed "
                            'or not on PATH). Install it (e.g. apt-get install ffmpeg), pass its location with '
                            '--ffmpeg PATH, or use the default --backend pyav, which needs no ffmpeg program.'
                            % args.ffmpeg)
        return ffmpeg
    try:
        import av  # noqa: F401
    except ImportError:
        raise UserError('the pyav backend needs PyAV (pip install av), or use --backend ffmpeg') from None
    return None


def run(args):
    ffmpeg = check_args(args)
    exts = tuple(e if e.startswith('.') else '.' + e for e in args.ext)
    os.makedirs(args.dst_dir_path, exist_ok=True)
    lock_folder(args.dst_dir_path, 'JPG_ROOT')  # two extractions into one tree would fail each other
    try:
        summary = convert_tree(args.dir_path, args.dst_dir_path, n_jobs=args.n_jobs, backend=args.backend,
                               size=args.size, qscale=args.qscale, fps_mode=args.fps_mode, ffmpeg=ffmpeg,
                               overwrite=args.overwrite, extensions=exts, strict=args.strict,
                               progress=not args.no_progress, no_tqdm=args.no_tqdm)
    except BaseException as e:
        signum = interruption(e)  # SIGINT, SIGTERM, or the end of a worker they caused
        if signum is None:
            raise
        raise Interrupted(signum, 'interrupted: finished videos are kept, the unfinished ones are redone when the '
                                  'same command is run again') from None
    print_summary(summary)
    if summary['found'] == 0:
        print('warning: no video found (expected AVI_ROOT/<class>/<video>%s)' % exts[0], file=sys.stderr)
    return 1 if summary['failed'] else 0


def main(argv=None):
    """Exit status 0, or 1 when a video failed; bad input, an unwritable JPG_ROOT and signals end with one
    'error: ...' line (core.errors.run_command)."""
    parser = build_parser()
    args = check_flags(parser, parser.parse_args(argv))
    return run_command(run, args, output=args.dst_dir_path)


if __name__ == '__main__':
    sys.exit(main())
