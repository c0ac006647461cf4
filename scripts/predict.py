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
import os
import sys

from core.preload import before_paddle, quiet_paddle  # noqa: E402

before_paddle()  # first: the signal handlers of a command's start, MKL path and log level (core/preload.py)

import numpy as np  # noqa: E402

from core.errors import UserError, run_command  # noqa: E402
from core.flags import check_flags, check_output_file  # noqa: E402
from datasets.safe_clips import clip_shape  # noqa: E402
from engine.checkpoint import check_class_names, with_data_options  # noqa: E402
from engine.inference import DynamicModel, InferenceModel, model_from_checkpoint, read_model_info  # noqa: E402
from engine.runtime import select_device, use_static_graph  # noqa: E402
from engine.video_accuracy import VideoScoreAccumulator, results_json, topk_indices, write_json_atomic  # noqa: E402
from opts import parse_test  # noqa: E402

JPG_HEIGHT = 240


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


def iter_clips(frames, data):
    """uint8 clips (C x T x H x W) cut and transformed as test.py's dataset does it from JPEG frames:
    the clip loader's per-frame path, with the decoded frames as its source. ``data``: a DataConfig."""
    import datasets
    spatial = datasets.build_spatial_transform(data, 'test', to_tensor=False)
    temporal = datasets.build_temporal_transform(data, 'test')
    span = int(data.sample_duration) * int(getattr(data, 'sample_t_stride', 1) or 1)
    stride = int(getattr(data, 'inference_stride', 0) or span)
    for indices, buffer in iter_windows(frames, span, stride):
        loader = datasets.ClipLoader('pil', video_loader=lambda _, numbers: [buffer[i] for i in numbers])
        yield loader(None, temporal(indices), spatial)


# ----------------------------------------------------------------------------------------------
# Class names
# ----------------------------------------------------------------------------------------------

def annotation_class_names(path):
    import datasets
    return list(datasets.get_class_names(datasets.load_annotation(path), path))


# ----------------------------------------------------------------------------------------------
# Prediction
# ----------------------------------------------------------------------------------------------

def predict_video(path, predictor, config, n_classes, batch_size=8):
    """(video scores C, number of clips, number of frames): softmax (or raw, --no_softmax_in_test)
    of each clip's logits averaged over the clips."""
    import paddle
    import datasets
    normalize = datasets.input_normalizer(config.data, data_format='NCDHW')  # the predictors take N x C x T x H x W
    acc = VideoScoreAccumulator(1, n_classes, use_softmax=not config.evaluation.no_softmax_in_test)
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
    for clip in iter_clips(counted(iter_frames(path)), config.data):
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
    p.add_argument('--output_json', default='', help='also write the result in val.json format to this file '
                                                     '(an existing predictions file is replaced; any other file '
                                                     'only with --overwrite)')
    p.add_argument('--overwrite', action='store_true',
                   help='let --output_json replace an existing JSON file that is not a predictions file')
    return p


def load_predictor(args, config, device):
    """(predictor, class names or None, class count or None, source path, Config with the input options the
    model was trained with for the flags not typed) of --inference_model or --checkpoint."""
    if args.inference_model:
        info = read_model_info(args.inference_model)
        config, _ = with_data_options(config, info)  # model_info.json records them as a checkpoint does
        class_names = info.get('class_names')
        n_classes = info.get('n_classes') or (len(class_names) if class_names else None)
        return InferenceModel(args.inference_model, device), class_names, n_classes, args.inference_model, config
    model, checkpoint, config = model_from_checkpoint(args.checkpoint, config)
    predictor = DynamicModel(model, clip_shape(config.data), use_static_graph(config.evaluation.eval_graph, device))
    return predictor, checkpoint.get('class_names'), config.model.n_classes, args.checkpoint, config


def print_top(video, scores, top, class_names, config, n_clips, n_frames):
    kind = 'mean raw score' if config.evaluation.no_softmax_in_test else 'mean softmax'
    print(f'{video}: {n_frames} frames, {n_clips} clips of {config.data.sample_duration} frames; top-{len(top)} '
          f'({kind} over clips):')
    width = max(len(class_names[c]) for c in top)
    for rank, c in enumerate(top, 1):
        print(f'{rank:3d}. {class_names[c]:<{width}}  {scores[c]:.4f}')


def parse_args(argv):
    """(predict.py's own options, the Config of test.py's flags it passes on)."""
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    check_flags(parser, args)
    # predict.py's batches are --clips_per_batch clips: test.py's flags (and their memory check) see that size
    rest = ['--batch_size', str(args.clips_per_batch)] + rest
    return args, parse_test(rest, description='options passed on by predict.py', prog=parser.prog)[0]


def check_output_json(args, config):
    """--output_json may not replace an input (the video, the checkpoint, the model, the annotation) nor an
    existing file that is not JSON; an existing JSON file that is not a predictions file (an annotation file, a
    run's opts.json) only with --overwrite."""
    inputs = [args.video, args.checkpoint, config.data.annotation_path]
    if args.inference_model and os.path.isdir(args.inference_model):
        inputs += [os.path.join(args.inference_model, name) for name in os.listdir(args.inference_model)]
    check_output_file(args.output_json, '--output_json', inputs, suffixes=('.json',))
    if os.path.lexists(args.output_json) and not args.overwrite and not is_predictions_file(args.output_json):
        raise UserError(f'--output_json {args.output_json} exists and is not a predictions file (no "results" '
                        'entry); it is not replaced: choose another name, or pass --overwrite')


def is_predictions_file(path):
    """Whether ``path`` holds this command's kind of output: a JSON object with a 'results' entry (val.json)."""
    import json
    try:
        with open(path, encoding='utf-8') as f:
            content = json.load(f)
    except (OSError, ValueError):
        return False
    return isinstance(content, dict) and 'results' in content


def run(args, config):
    if args.output_json:
        check_output_json(args, config)
    device, _ = select_device(config.run.device, config.run.cpu_threads)
    predictor, class_names, n_classes, source, config = load_predictor(args, config, device)
    stored = class_names
    if 'annotation_path' in config.given:
        class_names = annotation_class_names(config.data.annotation_path)
    if not class_names:
        raise UserError(f'{source} stores no class names: pass --annotation_path with the training annotation')
    n_classes = n_classes or len(class_names)
    if len(class_names) != n_classes:
        raise UserError(f'the model has {n_classes} classes but {len(class_names)} class names were given')
    check_class_names(stored, class_names, source, config.data.annotation_path)  # the model's names are the truth

    scores, n_clips, n_frames = predict_video(args.video, predictor, config, n_classes, max(1, args.clips_per_batch))
    top = topk_indices(scores, args.top_k)
    print_top(args.video, scores, top, class_names, config, n_clips, n_frames)
    if args.output_json:
        video_id = os.path.splitext(os.path.basename(args.video))[0]
        write_json_atomic(results_json([video_id], scores[None], class_names, args.top_k), args.output_json)
    return [(class_names[c], float(scores[c])) for c in top], scores


def main(argv=None):
    """Returns [(label, score)] best first; bad input exits with one 'error: ...' line."""
    args, config = parse_args(sys.argv[1:] if argv is None else list(argv))
    quiet_paddle(config.run.verbose)
    return run_command(run, args, config, output=args.output_json or None)[0]


if __name__ == '__main__':
    main()
