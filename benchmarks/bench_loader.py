"""Benchmark the clip loaders (datasets' ``--loader pil``, ``fast`` and ``fast_draft``) and the reference's
naive loader on the same frames: clips/s from the JPEG tree to batched, normalised float32 paddle tensors on
the CPU.

'naive' is the reference's own pipeline: per frame PIL open -> convert -> crop -> resize -> float32 ->
subtract the mean (ToTensor + Normalize), clips stacked as float32; it reads the JPEG tree only (the ratios
of the HDF5 rows are to it too). 'pil' keeps that per-frame PIL order but stays uint8 and normalises whole
batches (datasets.input_normalizer); 'fast' decodes with libjpeg-turbo and crops + resizes each frame in one
step (the same pixels); 'fast_draft' also decodes at reduced size (other pixels).

    python -m benchmarks.bench_loader                        # on a generated set (temporary)
    python -m benchmarks.bench_loader --video_path data/ucf101_jpg \\
        --annotation_path data/ucf101_01.json --workers 0 4 --json loader.json
    python -m benchmarks.bench_loader --file_types jpg hdf5  # both storages (--file_type), same frames

With ``--file_types ... hdf5`` the same frames are also read from HDF5 videos (``--file_type hdf5``): the JPEG
tree packed by utils/generate_video_hdf5.py into a temporary folder, or ``--hdf5_path`` if given.

Each run goes through ``paddle.io.DataLoader`` with ``--workers`` worker processes (0: in the main
process) and then ``datasets.input_normalizer``, as training does; training clips use the
training transform (multi-scale corner crop + flip), validation clips Scale + CenterCrop. The
clock starts when the first batch has arrived, so worker start-up is not counted. The loaders
run one after the other for each setting; with ``--repeat`` the fastest run of each counts.

Without ``--video_path`` a small UCF-101-shaped set of 320 x 240 JPEG frames (textured, panning)
is written to a temporary folder (datasets.synthetic.write_jpeg_dataset) and removed afterwards.
"""
import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from argparse import Namespace

import numpy as np


import paddle

import datasets
from datasets.safe_clips import clip_shape
from datasets.synthetic import DEFAULT_QUALITY, write_jpeg_dataset

MODES = ('train', 'val')
FILE_TYPES = ('jpg', 'hdf5')
LOADERS = ('naive', 'pil', 'fast', 'fast_draft')  # the first is the baseline of the ratios


# --------------------------------------------------------------------------------------------------
# measuring


class ReferencePipeline(object):
    """The reference's clip loader in a dataset's place: each frame opened with PIL and transformed to
    float32 on its own (``ToTensor`` + ``Normalize``), then stacked."""

    def __init__(self, opt, mode):
        self.video_loader = datasets.loader.VideoLoader()
        self.transform = datasets.build_spatial_transform(opt, mode, to_tensor=True)

    def __call__(self, video_dir, frame_indices, spatial_transform):
        return datasets.transform_clip(self.transform, self.video_loader(video_dir, frame_indices))


class _Cycled(paddle.io.Dataset):
    """``n`` items, cycling through ``dataset``: as many clips as asked for, whatever its size."""

    def __init__(self, dataset, n):
        super().__init__()
        self.dataset = dataset
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, index):
        return self.dataset[index % len(self.dataset)]


def loader_throughput(video_path, annotation_path, loader, mode, workers, n_clips,
                      sample_size=112, sample_duration=16, batch_size=8, seed=0, file_type='jpg'):
    """Clips/s of ``loader`` (one of LOADERS; 'naive' from a JPEG tree only) in ``mode`` ('train' or 'val') with ``workers``
    DataLoader workers, over ``n_clips`` clips (the first batch, which includes the workers'
    start-up, is not timed), from ``video_path`` stored as ``file_type``. Returns a dict: loader, mode,
    file_type, workers, clips (timed), seconds, clips_per_s, frames_per_s, clips_per_s_per_worker (per busy
    process), clips_per_cpu_s (workers 0 only: per CPU second of this process), batch_shape."""
    if mode not in MODES:
        raise ValueError('mode must be one of {}, got {!r}'.format(MODES, mode))
    if n_clips < 2 * batch_size:
        raise ValueError('n_clips ({}) must be at least two batches ({}): the first one is not '
                         'timed'.format(n_clips, 2 * batch_size))
    if loader == 'naive' and file_type != 'jpg':
        raise ValueError("the naive loader reads JPEG trees only (file_type 'jpg')")
    opt = Namespace(video_path=video_path, annotation_path=annotation_path, dataset='ucf101', file_type=file_type,
                    loader='pil' if loader == 'naive' else loader, sample_size=sample_size,
                    sample_duration=sample_duration)
    random.seed(seed)
    np.random.seed(seed)
    paddle.seed(seed)
    dataset = (datasets.get_training_set if mode == 'train' else datasets.get_validation_set)(opt)
    if loader == 'naive':
        dataset.loader = ReferencePipeline(opt, mode)
    data = paddle.io.DataLoader(_Cycled(dataset, n_clips), batch_size=batch_size, shuffle=False,
                                num_workers=workers, drop_last=False)
    normalize = datasets.input_normalizer(opt)
    timed_clips = 0
    start = None
    for clips, _ in data:
        batch = normalize(clips)
        if start is None:
            start, cpu_start = time.perf_counter(), time.process_time()
            batch_shape = tuple(batch.shape)
        else:
            timed_clips += batch.shape[0]
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    if batch.dtype != paddle.float32 or batch_shape[1:] != clip_shape(opt):
        raise RuntimeError('unexpected batch {} {}'.format(batch.dtype, batch_shape))
    clips_per_s = timed_clips / seconds
    return {'loader': loader, 'mode': mode, 'file_type': file_type, 'workers': workers, 'clips': timed_clips,
            'seconds': seconds, 'clips_per_s': clips_per_s,
            'frames_per_s': clips_per_s * sample_duration,
            'clips_per_s_per_worker': clips_per_s / max(1, workers),
            # without workers every clip is made in this process: clips per CPU second is the per-core rate,
            # unaffected by other processes taking turns on a shared machine
            'clips_per_cpu_s': timed_clips / max(cpu_seconds, 1e-9) if workers == 0 else None,
            'batch_shape': list(batch_shape)}


def _cpu_ms(work, items, repeat=3):
    """Best of ``repeat`` CPU milliseconds (this process) of ``work(item)`` per item."""
    best = None
    for _ in range(repeat):
        start = time.process_time()
        for item in items:
            work(item)
        ms = (time.process_time() - start) * 1000 / len(items)
        best = ms if best is None else min(best, ms)
    return best


def _frame_paths(video_path, per_video, limit):
    """The first ``per_video`` frames of each video of the tree, at most ``limit`` in all."""
    paths = []
    for root, _, files in sorted(os.walk(video_path)):
        jpgs = sorted(f for f in files if f.endswith('.jpg'))
        paths += [os.path.join(root, f) for f in jpgs[:per_video]]
    return paths[:limit]


def _handoff_ms(dataset, opt, n_clips, batch_size):
    """This process's CPU ms per clip while 2 DataLoader workers make the clips: receiving them and
    normalising the batches (the first batch, with the workers' start-up, is not counted)."""
    loader = paddle.io.DataLoader(_Cycled(dataset, n_clips), batch_size=batch_size, num_workers=2)
    normalize = datasets.input_normalizer(opt)
    start = None
    count = 0
    for clips, _ in loader:
        if start is None:
            start = time.process_time()
            continue
        normalize(clips)
        count += int(clips.shape[0])
    return (time.process_time() - start) * 1000 / max(count, 1)


def _per_frame_rows(paths, data, transform, sample_size):
    """(rows, decode-alone ms): the per-frame stages of the fast loader on these frames, each drawn a training
    geometry, and libjpeg-turbo's decode alone."""
    import simplejpeg
    from datasets.fast_clips import ClipFrameReader, EncodedFrame, outward_box
    from datasets.spatial_transforms import BILINEAR
    frames = [EncodedFrame(d) for d in data]
    readers = []
    for _ in frames:
        transform.randomize_parameters()
        readers.append(ClipFrameReader(transform, draft=False))
    geometries = [r.geometry(f.size) for r, f in zip(readers, frames)]
    decoded = [f.decode() for f in frames]

    def crop_resize(i):
        img, geometry = decoded[i], geometries[i]
        domain = outward_box(geometry.domain, *img.size)
        x0, y0, x1, y1 = geometry.box
        box = (x0 - domain[0], y0 - domain[1], x1 - domain[0], y1 - domain[1])
        return img.crop(domain).resize(geometry.size, BILINEAR, box=box)
    resized = [crop_resize(i) for i in range(len(frames))]
    clip = np.empty((3, 1, sample_size, sample_size), np.uint8)

    def to_clip(i):
        pixels = np.asarray(resized[i])[:, :, :3]
        clip[:, 0] = (pixels[:, ::-1] if geometries[i].flip else pixels).transpose(2, 0, 1)

    def read(path):
        with open(path, 'rb') as f:
            return f.read()
    index = range(len(frames))
    rows = [('read (open + read the file)', _cpu_ms(read, paths)),
            ('JPEG header (size, colour space)', _cpu_ms(EncodedFrame, data)),
            ('decode (libjpeg-turbo through simplejpeg, RGBX) + wrap as a PIL image',
             _cpu_ms(lambda i: frames[i].decode(), index)),
            ('crop + resize (Pillow, one step)', _cpu_ms(crop_resize, index)),
            ('to array, flip, into the C x T x H x W clip', _cpu_ms(to_clip, index))]
    return rows, _cpu_ms(lambda d: simplejpeg.decode_jpeg(d, 'RGBX'), data)


def stage_table(video_path, annotation_path, sample_size=112, sample_duration=16, batch_size=8, n_clips=48,
                seed=0):
    """Where a training clip's time goes in the ``fast`` loader, stage by stage (CPU ms per frame of this
    process, best of 3), against libjpeg-turbo's decode alone (the floor for exact pixels: every frame must be
    decoded at full size) and the reference's naive per-frame loader. Returns (rows, summary)."""
    opt = Namespace(video_path=video_path, annotation_path=annotation_path, dataset='ucf101', file_type='jpg',
                    loader='fast', sample_size=sample_size, sample_duration=sample_duration)
    random.seed(seed)
    np.random.seed(seed)
    paddle.seed(seed)
    dataset = datasets.get_training_set(opt)
    clips = [dataset[i % len(dataset)] for i in range(n_clips)]  # warm the page cache and the imports
    # the frames of the clips' videos, each with a training geometry drawn for its video
    transform = datasets.build_spatial_transform(opt, 'train', to_tensor=False)
    paths = _frame_paths(video_path, sample_duration, n_clips * 2)
    data = [open(path, 'rb').read() for path in paths]
    rows, decode_alone = _per_frame_rows(paths, data, transform, sample_size)
    frames_per_clip = sample_duration
    # the whole clip as a worker makes it (temporal crop, random draws, the stages above, loop padding)
    random.seed(seed)
    whole = _cpu_ms(lambda i: dataset[i % len(dataset)], range(n_clips)) / frames_per_clip
    parts = sum(ms for _, ms in rows)
    rows.append(('the rest of the dataset item (temporal crop, random draws, SafeClips, Python; the whole item '
                 'measured less the stages above)', whole - parts))
    batch = [c for c in clips[:batch_size]]
    collate = paddle.io.dataloader.collate.default_collate_fn
    rows.append(('collate (stack a batch; per frame)', _cpu_ms(lambda _: collate(batch), range(8)) / (
        batch_size * frames_per_clip)))
    handoff = _handoff_ms(dataset, opt, n_clips, batch_size) / frames_per_clip
    rows.append(('main process: receive from 2 workers + normalise (per frame)', handoff))
    naive = ReferencePipeline(opt, 'train')
    indices = list(range(1, frames_per_clip + 1))
    videos = sorted({os.path.dirname(p) for p in paths})
    naive_ms = _cpu_ms(lambda v: naive(v, indices, None), videos[:6], repeat=2) / frames_per_clip
    total = sum(ms for _, ms in rows)
    summary = {'decode_alone_ms': decode_alone, 'fast_ms': total, 'fast_worker_ms': whole, 'naive_ms': naive_ms,
               'fast_vs_naive': naive_ms / whole, 'fast_vs_decode_alone': whole / decode_alone,
               'main_process_ms': handoff}
    return rows, summary


def print_stages(rows, summary):
    total = summary['fast_ms']
    for name, ms in rows:
        print('%-80s %7.3f ms  %5.1f %%' % (name, ms, 100 * ms / total))
    print('%-80s %7.3f ms' % ('fast loader, per frame, all of the above', total))
    print('%-80s %7.3f ms' % ('fast loader, per frame, in a worker (the dataset item)', summary['fast_worker_ms']))
    print('%-80s %7.3f ms' % ('libjpeg-turbo decode alone (the floor for exact pixels)', summary['decode_alone_ms']))
    print('%-80s %7.3f ms' % ("the reference's naive per-frame loader in a worker (PIL, float32)",
                              summary['naive_ms']))
    print('in a worker: fast %.2fx faster than naive, %.2fx the decode-alone floor' % (
        summary['fast_vs_naive'], summary['fast_vs_decode_alone']))


# --------------------------------------------------------------------------------------------------
# command line


def _table(results):
    """Rows 'mode workers storage' + clips/s of each loader and its ratio to the naive one (on JPEGs)."""
    by_key = {(r['mode'], r['workers'], r.get('file_type', 'jpg'), r['loader']): r for r in results}
    base, others = LOADERS[0], LOADERS[1:]
    header = (['mode', 'workers', 'storage', '%s clips/s' % base] + ['%s clips/s' % n for n in others]
              + ['%s/%s' % (n, base) for n in others])
    lines = [' '.join('%16s' % h for h in header)]
    for mode, workers, file_type in sorted({key[:3] for key in by_key}):
        baseline = by_key[mode, workers, 'jpg', base]['clips_per_s']
        rates = [by_key[mode, workers, file_type, name]['clips_per_s'] for name in others]
        cells = ([mode, str(workers), file_type, '%.1f' % baseline] + ['%.1f' % r for r in rates]
                 + ['%.2fx' % (r / baseline) for r in rates])
        lines.append(' '.join('%16s' % c for c in cells))
    return '\n'.join(lines)


def hdf5_copy(video_path, folder):
    """The JPEG tree ``video_path`` packed into HDF5 videos below ``folder`` (utils/generate_video_hdf5.py)."""
    from utils.generate_video_hdf5 import convert_tree
    summary = convert_tree(video_path, folder, n_jobs=1, progress=False, out=sys.stderr)
    if summary['failed']:
        raise RuntimeError('cannot pack {} into HDF5: {}'.format(video_path, summary['failed'][0]))
    return folder


def build_parser():
    p = argparse.ArgumentParser(allow_abbrev=False,
        description="Clip loader throughput, the reference's 'naive' one vs 'pil', 'fast' and 'fast_draft', "
                    "from JPEG frames to normalised "
                    'float32 batches (DataLoader + datasets.input_normalizer).',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--video_path', default=None,
                   help='JPEG frame tree <label>/<video>/image_%%05d.jpg; by default a set of '
                        '320x240 frames is generated into a temporary folder')
    p.add_argument('--annotation_path', default=None, help='annotation JSON of --video_path')
    p.add_argument('--file_types', nargs='+', choices=FILE_TYPES, default=['jpg'],
                   help='frame storages to measure (--file_type): jpg = the JPEG tree, hdf5 = the same frames as '
                        'HDF5 videos')
    p.add_argument('--hdf5_path', default=None,
                   help='HDF5 tree of the frames of --video_path (utils/generate_video_hdf5.py); by default '
                        'the JPEG tree is packed into a temporary folder')
    p.add_argument('--workers', type=int, nargs='+', default=[0, 2], help='DataLoader workers')
    p.add_argument('--modes', nargs='+', choices=MODES, default=list(MODES))
    p.add_argument('--n_clips', type=int, default=160, help='clips per run')
    p.add_argument('--sample_size', type=int, default=112)
    p.add_argument('--sample_duration', type=int, default=16)
    p.add_argument('--batch_size', type=int, default=8)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--repeat', type=int, default=1, help='runs per setting; the fastest counts')
    p.add_argument('--quality', type=int, default=DEFAULT_QUALITY,
                   help='generated set: JPEG quality (higher: larger files, slower to decode)')
    p.add_argument('--json', default=None, metavar='PATH', help='also write the results here')
    p.add_argument('--stages', action='store_true',
                   help="only the per-stage table of the fast loader's training clips (CPU ms per frame) against "
                        "libjpeg-turbo's decode alone and the naive loader")
    return p


def best_runs(args, roots, annotation_path):
    """The fastest of --repeat runs of every mode x workers x storage x loader."""
    best = {}
    for _ in range(args.repeat):
        for mode in args.modes:
            for workers in args.workers:
                for file_type, loader in ((f, name) for f in sorted(set(args.file_types) | {'jpg'})
                                          for name in LOADERS if f == 'jpg' or name != 'naive'):
                    r = loader_throughput(roots[file_type], annotation_path, loader, mode, workers,
                                          args.n_clips, args.sample_size,
                                          args.sample_duration, args.batch_size, args.seed, file_type)
                    key = (mode, workers, file_type, loader)
                    if key not in best or r['clips_per_s'] > best[key]['clips_per_s']:
                        best[key] = r
    return list(best.values())


def main(argv=None):
    p = build_parser()
    args = p.parse_args(argv)
    if (args.video_path is None) != (args.annotation_path is None):
        p.error('give both --video_path and --annotation_path, or neither')
    if args.hdf5_path is not None and args.video_path is None:
        p.error('--hdf5_path holds the frames of --video_path: give --video_path and --annotation_path too')

    tmp = None
    try:
        if args.video_path is None:
            tmp = tempfile.mkdtemp(prefix='bench_loader_')
            video_path, annotation_path = write_jpeg_dataset(tmp, quality=args.quality)
            source = 'generated set (2 classes x 6 videos x 48 frames, 320x240 JPEG quality %d)' % (
                args.quality)
        else:
            video_path, annotation_path = args.video_path, args.annotation_path
            source = video_path
        print('source: %s; %d clips of %d x %d x %d per run, batch %d, %d CPU core(s)' % (
            source, args.n_clips, args.sample_duration, args.sample_size, args.sample_size,
            args.batch_size, os.cpu_count()))
        if args.stages:
            rows, summary = stage_table(video_path, annotation_path, args.sample_size, args.sample_duration,
                                        args.batch_size, seed=args.seed)
            print_stages(rows, summary)
            if args.json:
                with open(args.json, 'w') as f:
                    json.dump({'source': source, 'stages': rows, 'summary': summary}, f, indent=1)
            return 0
        roots = {'jpg': video_path}
        if 'hdf5' in args.file_types:
            if args.hdf5_path is None and tmp is None:
                tmp = tempfile.mkdtemp(prefix='bench_loader_')
            roots['hdf5'] = args.hdf5_path or hdf5_copy(video_path, os.path.join(tmp, 'hdf5'))
        results = best_runs(args, roots, annotation_path)
        print(_table(results))
        if args.json:
            with open(args.json, 'w') as f:
                json.dump({'source': source, 'cpu_count': os.cpu_count(), 'results': results},
                          f, indent=1)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
