"""Classify a raw video file (no JPEG extraction step) and print its top-5 labels.

    python scripts/predict.py VIDEO.avi --checkpoint results/save_200.pdparams
    python scripts/predict.py VIDEO.avi --checkpoint save_200.pdparams --annotation_path ucf101_01.json
    python scripts/predict.py VIDEO.avi --inference_model export/r3d18     # model from scripts/export_model.py

The video is decoded with PyAV and every frame is scaled to height 240 (width by aspect), as
utils/video_jpg_ucf101_hmdb51.py (ffmpeg `scale=-1:240`) does before training. Clips are then cut and
preprocessed exactly as test.py does: non-overlapping --sample_duration-frame windows (--inference_stride),
the last one loop-padded, Scale(--sample_size / --scale_in_test) + crop at --crop_position_in_test,
mean/std normalisation; the softmax of the clip scores is averaged over the clips.

Model options come from the checkpoint (flags may only repeat them); class names from the checkpoint's
`class_names`, the exported model's model_info.json, or --annotation_path. Every other option of
opts.py (e.g. --sample_size, --sample_duration, --norm_value, --mean_dataset) is accepted and must match
training. Frames are not JPEG-compressed here, so scores differ slightly from test.py on extracted frames.
"""
import argparse
import glob
import json
import os
import sys

import numpy as np


from core.preload import before_paddle, quiet_paddle  # noqa: E402

before_paddle()  # before Paddle loads: MKL path and log level (core/preload.py); --verbose keeps the noise

from datasets.safe_clips import clip_shape  # noqa: E402
from engine.checkpoint import check_class_names  # noqa: E402
from core.errors import UserError, run_command  # noqa: E402
from core.flags import check_flags, check_output_file  # noqa: E402
from engine.runtime import compile_predict, cpu_cores, select_device, use_static_graph  # noqa: E402
from engine.video_accuracy import VideoScoreAccumulator, results_json, topk_indices, write_json_atomic  # noqa: E402
from opts import explicit_options, parse_opts  # noqa: E402

JPG_HEIGHT = 240
MODEL_INFO = 'model_info.json'


# ----------------------------------------------------------------------------------------------
# Decoding and clips
# ----------------------------------------------------------------------------------------------

def scaled_size(width, height, target_height=JPG_HEIGHT):
    """ffmpeg `scale=-1:240`: height 240, width rounded to keep the aspect ratio."""
    return max(1, int(round(width * target_height / height))), target_height


def iter_frames(path, target_height=JPG_HEIGHT):
    """PIL RGB frames of the first video stream, scaled to height `target_height`; errors name the file."""
    import av
    from PIL import Image
    resample = getattr(Image, 'Resampling', Image).BICUBIC  # ffmpeg's scale filter default is bicubic
    if not os.path.isfile(path):
        raise UserError(f'{path}: video file not found')
    try:
        container = av.open(path)
    except (av.error.FFmpegError, OSError, ValueError, UnicodeDecodeError) as e:
        raise UserError(f'{path}: cannot read video ({e})') from None
    with container:
        if not container.streams.video:
            raise UserError(f'{path}: has no video stream')
        stream = container.streams.video[0]
        n = 0
        try:
            for frame in container.decode(stream):
                img = frame.to_image()
                size = scaled_size(img.width, img.height, target_height) if target_height else img.size
                if size != img.size:
                    img = img.resize(size, resample)
                n += 1
                yield img
        except (av.error.FFmpegError, OSError, ValueError) as e:
            raise UserError(f'{path}: cannot decode frame {n + 1} ({e})') from None
        if n == 0:
            raise UserError(f'{path}: no frame could be decoded')


def iter_windows(frames, span, stride):
    """(1-indexed frame numbers, {number: frame}) per test window, streaming over `frames`.

    The windows are those of datasets.temporal_transforms.sliding_windows on frames 1..n (starts
    1, 1 + stride, ... up to n - 1; each window `span` frames or fewer at the end), computed without
    holding the whole video in memory.
    """
    buffer, start, n = {}, 1, 0
    for n, frame in enumerate(frames, 1):
        buffer[n] = frame
        while start + span - 1 <= n and start <= n - 1:
            yield list(range(start, start + span)), buffer
            start += stride
            for k in [k for k in buffer if k < start]:
                del buffer[k]
    while n and start <= max(1, n - 1):
        yield list(range(start, min(n, start + span - 1) + 1)), buffer
        start += stride


def iter_clips(frames, opt):
    """uint8 clips (C x T x H x W) cut and transformed as test.py's dataset does it from JPEG frames:
    the clip loader's per-frame path, with the decoded frames as its source."""
    import datasets
    spatial = datasets.build_spatial_transform(opt, 'test', to_tensor=False)
    temporal = datasets.build_temporal_transform(opt, 'test')
    span = int(opt.sample_duration) * int(getattr(opt, 'sample_t_stride', 1) or 1)
    stride = int(getattr(opt, 'inference_stride', 0) or span)
    for indices, buffer in iter_windows(frames, span, stride):
        loader = datasets.ClipLoader('pil', video_loader=lambda _, numbers: [buffer[i] for i in numbers])
        yield loader(None, temporal(indices), spatial)


# ----------------------------------------------------------------------------------------------
# Models: dynamic (checkpoint) or exported (paddle.inference)
# ----------------------------------------------------------------------------------------------

def find_inference_files(directory):
    """(model_file, params_file) of a paddle.jit.save export: Paddle 3 `.json`, Paddle 2 `.pdmodel`."""
    if not os.path.isdir(directory):
        raise UserError(f'{directory}: exported model folder not found (write it with scripts/export_model.py)')
    for params in sorted(glob.glob(os.path.join(directory, '*.pdiparams'))):
        prefix = params[:-len('.pdiparams')]
        for ext in ('.json', '.pdmodel'):
            if os.path.isfile(prefix + ext):
                return prefix + ext, params
    raise UserError(f'{directory}: no <name>.json/.pdmodel + <name>.pdiparams pair '
                       '(write it with scripts/export_model.py)')


class InferenceModel:
    """A paddle.inference predictor over an exported model; `__call__(clips N x C x T x H x W) -> logits`."""

    def __init__(self, directory, device='cpu', threads=0):
        from paddle import inference
        model_file, params_file = find_inference_files(directory)
        config = inference.Config(model_file, params_file)
        if device == 'gpu':
            config.enable_use_gpu(256, 0)
        else:
            config.disable_gpu()
            config.set_cpu_math_library_num_threads(threads or cpu_cores())
        config.disable_glog_info()
        try:
            self.predictor = inference.create_predictor(config)
        except Exception as e:  # paddle raises several internal types for a corrupt program/params
            raise UserError(f'{directory}: cannot load the exported model ({type(e).__name__}: '
                               f'{str(e).strip().splitlines()[-1] if str(e).strip() else e})') from None
        self.files = (model_file, params_file)

    def __call__(self, clips):
        clips = np.ascontiguousarray(clips, dtype=np.float32)
        handle = self.predictor.get_input_handle(self.predictor.get_input_names()[0])
        try:
            handle.reshape(list(clips.shape))
            handle.copy_from_cpu(clips)
            self.predictor.run()
        except Exception as e:  # e.g. clips of another size than the exported input
            message = str(e).strip().splitlines()
            raise UserError(f'{self.files[0]}: cannot run on clips of shape {list(clips.shape)} '
                               f'({type(e).__name__}: {message[0] if message else ""}); the export fixes '
                               '--sample_size and --sample_duration') from None
        return self.predictor.get_output_handle(self.predictor.get_output_names()[0]).copy_to_cpu()


class DynamicModel:
    """A model from a checkpoint, run as engine.runtime.compile_predict builds it; `__call__(clips) -> logits`."""

    def __init__(self, model, input_shape=None, static=False):
        self.predict = compile_predict(model, input_shape, static)
        self.data_format = model.data_format

    def __call__(self, clips):
        import paddle
        from models import to_data_format
        clips = paddle.to_tensor(np.ascontiguousarray(clips, dtype=np.float32))
        with paddle.no_grad():
            return self.predict(to_data_format(clips, self.data_format)).numpy()


def model_from_checkpoint(path, opt, explicit):
    """(eval-mode model, checkpoint dict) with the checkpoint's model and input options where no flag
    was given (as test.py)."""
    from engine.checkpoint import load_checkpoint
    from engine.evaluation import build_model
    checkpoint = load_checkpoint(path)
    model, _ = build_model(opt, checkpoint, path, explicit)
    return model, checkpoint


def annotation_class_names(path):
    import datasets
    return list(datasets.get_class_names(datasets.load_annotation(path), path))


def read_model_info(directory):
    path = os.path.join(directory, MODEL_INFO)
    if not os.path.isfile(path):
        return {}
    with open(path) as f:
        return json.load(f)


# ----------------------------------------------------------------------------------------------
# Prediction
# ----------------------------------------------------------------------------------------------

def predict_video(path, predictor, opt, n_classes, batch_size=8):
    """(video scores C, number of clips, number of frames): softmax (or raw, --no_softmax_in_test)
    of each clip's logits averaged over the clips."""
    import paddle
    import datasets
    normalize = datasets.input_normalizer(opt, data_format='NCDHW')  # the predictors take N x C x T x H x W
    acc = VideoScoreAccumulator(1, n_classes, use_softmax=not getattr(opt, 'no_softmax_in_test', False))
    n_frames = n_clips = 0

    def counted(frames):
        nonlocal n_frames
        for n_frames, frame in enumerate(frames, 1):
            yield frame

    def add(batch):
        clips = normalize(paddle.to_tensor(np.stack(batch))).numpy()
        acc.add(predictor(clips), np.zeros(len(batch), np.int64))
        return len(batch)

    batch = []
    for clip in iter_clips(counted(iter_frames(path)), opt):
        batch.append(clip)
        if len(batch) == batch_size:
            n_clips, batch = n_clips + add(batch), []
    if batch:
        n_clips += add(batch)
    scores, _ = acc.video_scores()
    return scores[0], n_clips, n_frames


def build_parser():
    p = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split('\n\n')[0],
                                epilog='Any other opts.py option (e.g. --sample_size 112 --sample_duration 16) '
                                       'is passed on and must match training.')
    p.add_argument('video', help='video file (anything FFmpeg reads: .avi, .mp4, ...)')
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument('--checkpoint', help='.pdparams written by main.py (or a bare / converted state_dict)')
    src.add_argument('--inference_model', help='folder written by scripts/export_model.py (paddle.inference)')
    p.add_argument('--top_k', type=int, default=5, help='labels to print (default 5)')
    p.add_argument('--clips_per_batch', type=int, default=8, help='clips per forward pass (default 8)')
    p.add_argument('--output_json', default='', help='also write the result in val.json format to this file')
    return p


def load_predictor(args, opt, explicit, device):
    """(predictor, class names or None, class count or None, source path) of --inference_model or
    --checkpoint; the input options the model was trained with replace the flags not given."""
    from engine.checkpoint import apply_data_options
    if args.inference_model:
        info = read_model_info(args.inference_model)
        apply_data_options(opt, {'data_opts': info}, explicit)  # model_info.json records them as a checkpoint does
        class_names = info.get('class_names')
        n_classes = info.get('n_classes') or (len(class_names) if class_names else None)
        return InferenceModel(args.inference_model, device), class_names, n_classes, args.inference_model
    model, checkpoint = model_from_checkpoint(args.checkpoint, opt, explicit)
    predictor = DynamicModel(model, clip_shape(opt), use_static_graph(opt.eval_graph, device))
    return predictor, checkpoint.get('class_names'), opt.n_classes, args.checkpoint


def print_top(video, scores, top, class_names, opt, n_clips, n_frames):
    kind = 'mean raw score' if opt.no_softmax_in_test else 'mean softmax'
    print(f'{video}: {n_frames} frames, {n_clips} clips of {opt.sample_duration} frames; top-{len(top)} '
          f'({kind} over clips):')
    width = max(len(class_names[c]) for c in top)
    for rank, c in enumerate(top, 1):
        print(f'{rank:3d}. {class_names[c]:<{width}}  {scores[c]:.4f}')


def parse_args(argv):
    """(predict.py's own options, the opts.py options it passes on, the names given explicitly)."""
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    check_flags(parser, args)
    return args, parse_opts(rest, description='options passed on by predict.py'), explicit_options(rest)


def check_output_json(args, opt):
    """--output_json may not replace an input (the video, the checkpoint, the model, the annotation) nor an
    existing file that is not JSON."""
    inputs = [args.video, args.checkpoint, opt.annotation_path]
    if args.inference_model and os.path.isdir(args.inference_model):
        inputs += [os.path.join(args.inference_model, name) for name in os.listdir(args.inference_model)]
    check_output_file(args.output_json, '--output_json', inputs, suffixes=('.json',))


def run(args, opt, explicit):
    if args.output_json:
        check_output_json(args, opt)
    device, _ = select_device(opt.device, opt.cpu_threads)
    predictor, class_names, n_classes, source = load_predictor(args, opt, explicit, device)
    stored = class_names
    if 'annotation_path' in explicit:
        class_names = annotation_class_names(opt.annotation_path)
    if not class_names:
        raise UserError(f'{source} stores no class names: pass --annotation_path with the training annotation')
    n_classes = n_classes or len(class_names)
    if len(class_names) != n_classes:
        raise UserError(f'the model has {n_classes} classes but {len(class_names)} class names were given')
    check_class_names(stored, class_names, source, opt.annotation_path)  # the model's own names are the truth

    scores, n_clips, n_frames = predict_video(args.video, predictor, opt, n_classes, max(1, args.clips_per_batch))
    top = topk_indices(scores, args.top_k)
    print_top(args.video, scores, top, class_names, opt, n_clips, n_frames)
    if args.output_json:
        video_id = os.path.splitext(os.path.basename(args.video))[0]
        write_json_atomic(results_json([video_id], scores[None], class_names, args.top_k), args.output_json)
    return [(class_names[c], float(scores[c])) for c in top], scores


def main(argv=None):
    """Returns [(label, score)] best first; bad input exits with one 'error: ...' line."""
    args, opt, explicit = parse_args(sys.argv[1:] if argv is None else list(argv))
    quiet_paddle(opt.verbose)
    return run_command(run, args, opt, explicit, output=args.output_json or None)[0]


if __name__ == '__main__':
    main()
