"""Video-level evaluation of a checkpoint: test.py's protocol, importable (from a notebook too).

    from engine.evaluation import evaluate_checkpoint
    from opts import parse_opts
    metrics = evaluate_checkpoint(parse_opts(['--resume_path', 'results/save_200.pdparams', ...]))

Every video of --test_subset is cut into windows (datasets.get_test_set), each clip's scores go through
the model, and the softmax of the clip scores (raw scores with --no_softmax_in_test) is averaged per
video (engine.video_accuracy). Writes <subset>.json, per_class.csv, confusion.png and
<subset>_metrics.json to --result_path; returns the metrics dict. The checkpoint's model and input
options replace the flags not given (engine.checkpoint).
"""
import copy
import os
import sys
import time

import numpy as np
import paddle
from tqdm import tqdm

import datasets
import models
from datasets.annotation import subset_name
from datasets.safe_clips import SafeClips, clip_shape
from engine.checkpoint import (apply_data_options, apply_model_options, check_class_names, checkpoint_state_dict,
                               load_checkpoint, load_weights)
from core.errors import BadInput, UserError, quiet_worker, run_command
from core.flags import check_output_folder
from core.preload import quiet_paddle
from engine.runtime import compile_predict, describe, select_device, use_static_graph
from engine.video_accuracy import (VideoScoreAccumulator, confusion_matrix, draw_confusion_png, load_ground_truth,
                                   per_class_rows, results_json, segment_results_json, strip_kinetics_suffix,
                                   topk_indices, write_json_atomic, write_per_class_csv)
from opts import explicit_options, parse_opts


def checkpoint_path(opt):
    """The checkpoint to evaluate: --resume_path or --pretrain_path (one of them)."""
    paths = [p for p in (opt.resume_path, opt.pretrain_path) if p]
    if not paths:
        raise UserError('no checkpoint: pass --resume_path (or --pretrain_path) with the .pdparams to evaluate')
    if len(set(paths)) > 1:
        raise UserError(f'--resume_path {opt.resume_path} and --pretrain_path {opt.pretrain_path} name two '
                        'different checkpoints; test.py evaluates one, pass only one of them')
    return paths[0]


def build_model(opt, checkpoint, path, explicit=()):
    """Model built from the checkpoint's options (flags for the rest), with the checkpoint's weights, in eval
    mode; also returns the 'name=value' options taken from the checkpoint."""
    state_dict = checkpoint_state_dict(checkpoint, path)
    taken = apply_model_options(opt, checkpoint, state_dict, explicit, path)
    taken += apply_data_options(opt, checkpoint, explicit)
    model = models.generate_model(opt)
    load_weights(model, state_dict, path)
    model.eval()
    return model, taken


def test_set_for(opt, checkpoint, path):
    """datasets.get_test_set(opt), checked against the checkpoint's classes."""
    test_set = datasets.get_test_set(opt)
    class_names, saved_names = list(test_set.class_names), checkpoint.get('class_names')
    if len(class_names) != opt.n_classes:
        raise BadInput(f'{opt.annotation_path} lists {len(class_names)} labels but the model has {opt.n_classes} '
                       'classes; evaluate on the annotation the checkpoint was trained with')
    check_class_names(saved_names, class_names, path, opt.annotation_path)
    if len(test_set) == 0:
        raise BadInput(f'no clips to evaluate in subset {subset_name(opt.test_subset)!r} of '
                       f'{opt.annotation_path} (check --test_subset and --video_path)')
    return test_set


class VideoBatches(paddle.io.Sampler):
    """Batches of up to ``batch_size`` consecutive clips of one video each (--inference_crop nocrop: the clips
    of a video have its frames' shape, so two videos do not stack)."""

    def __init__(self, test_set, batch_size):
        self.batches = []
        for start, n in zip(np.cumsum([0] + list(test_set.n_clips_per_video[:-1])), test_set.n_clips_per_video):
            end = start + n
            self.batches += [list(range(b, min(b + batch_size, end))) for b in range(start, end, batch_size)]

    def __iter__(self):
        return iter(self.batches)

    def __len__(self):
        return len(self.batches)


def predict_videos(predict, test_set, opt, n_classes, clip_scores=None):
    """Run every clip through ``predict`` (normalised clips -> float32 logits); returns (video scores,
    clip counts, clip correct, clip total with a known label). ``clip_scores`` (clips x classes), if given,
    receives each clip's (softmax) scores."""
    normalize = datasets.input_normalizer(opt)
    video_labels = np.asarray(test_set.video_labels, dtype=np.int64)
    acc = VideoScoreAccumulator(len(test_set.video_ids), n_classes, use_softmax=not opt.no_softmax_in_test)
    safe_set = SafeClips(test_set, clip_shape(opt))
    batch_size = opt.inference_batch_size or opt.batch_size
    if opt.inference_crop == 'nocrop':
        batching = dict(batch_sampler=VideoBatches(test_set, batch_size))
    else:
        batching = dict(batch_size=batch_size, shuffle=False, drop_last=False)
    loader = paddle.io.DataLoader(safe_set, num_workers=opt.n_threads, worker_init_fn=quiet_worker, **batching)
    clip_correct = clip_known = 0
    n_batches, start = len(loader), time.time()
    with tqdm(loader, total=n_batches, desc=f'test ({opt.test_subset})', disable=opt.no_tqdm,
              dynamic_ncols=True) as bar, paddle.no_grad():
        for i, (clips, video_indices, sample_indices, ok, messages) in enumerate(bar, 1):
            error = safe_set.first_error(sample_indices.numpy(), ok.numpy(), messages.numpy())
            if error:
                raise UserError(error)
            outputs = predict(normalize(clips)).numpy()
            video_indices = video_indices.numpy().reshape(-1)
            scores = acc.add(outputs, video_indices)
            if clip_scores is not None:
                clip_scores[sample_indices.numpy().reshape(-1)] = scores
            labels = video_labels[video_indices]
            known = labels >= 0
            clip_correct += int((outputs.argmax(axis=1)[known] == labels[known]).sum())
            clip_known += int(known.sum())
            if opt.no_tqdm and (i == n_batches or i % max(1, n_batches // 10) == 0):
                print(f'test: batch {i}/{n_batches} ({time.time() - start:.0f} s)', flush=True)
    scores, counts = acc.video_scores()
    return scores, counts, clip_correct, clip_known


# --inference_crop three_crop: with the short side at --sample_size, the left, centre and right squares of a
# landscape frame (top, centre and bottom of a portrait one) cover all of it
THREE_CROPS = ('tl', 'c', 'br')


def predict_crops(predict, test_set, opt, checkpoint, path, clip_scores=None):
    """predict_videos with --inference_crop's crops: the one crop of the test set, or (three_crop) each of
    THREE_CROPS over the same windows, their video (and clip) scores averaged and their clips counted together.
    Returns predict_videos' tuple and the centre crop's video scores (None unless three_crop)."""
    if opt.inference_crop != 'three_crop':
        return predict_videos(predict, test_set, opt, opt.n_classes, clip_scores), None
    passes = []
    for position in THREE_CROPS:
        crop_opt = copy.copy(opt)
        crop_opt.crop_position_in_test = position
        crop_scores = None if clip_scores is None else np.zeros_like(clip_scores)
        passes.append(predict_videos(predict, test_set_for(crop_opt, checkpoint, path), crop_opt, opt.n_classes,
                                     crop_scores) + (crop_scores,))
    if clip_scores is not None:
        clip_scores[:] = np.mean([p[4] for p in passes], axis=0)
    scores = np.mean([p[0] for p in passes], axis=0)
    centre = passes[THREE_CROPS.index('c')][0]
    return (scores, sum(p[1] for p in passes), sum(p[2] for p in passes), sum(p[3] for p in passes)), centre


def summarise(ground_truth, class_names, video_ids, scores, counts, alternative_key=None):
    """Per-ground-truth-video top-1/top-5 hits, computed exactly as engine.video_accuracy.evaluate does."""
    index_of = {name: i for i, name in enumerate(class_names)}
    row_of = {vid: i for i, vid in enumerate(video_ids) if counts[i] > 0}
    labels, predicted, top1, top5, missing = [], [], [], [], []
    for video_id, label_name in ground_truth:
        label = index_of.get(label_name, -1)
        row = row_of.get(video_id)
        if row is None and alternative_key is not None:
            row = row_of.get(alternative_key(video_id))
        labels.append(label)
        top = topk_indices(scores[row], 5) if row is not None else [-1]
        if row is None:
            missing.append(video_id)
        predicted.append(int(top[0]))
        top1.append(row is not None and bool(label == top[0]))
        top5.append(row is not None and bool(label in top))
    return (np.asarray(labels, np.int64), np.asarray(predicted, np.int64), np.asarray(top1, bool),
            np.asarray(top5, bool), missing)


def describe_run(opt, path, taken, test_set, device, cpu_threads, static):
    print(f'checkpoint: {path} ({opt.arch}' + (f'; from the checkpoint: {", ".join(taken)}' if taken else '') + ')')
    stride = f'stride {opt.inference_stride}' if opt.inference_stride else 'non-overlapping'
    print(f'test subset: {subset_name(opt.test_subset)}, {len(test_set.video_ids)} videos, {len(test_set)} clips of '
          f'{opt.sample_duration} frames ({stride}), '
          + {'nocrop': 'no crop', 'three_crop': f'crops {"/".join(THREE_CROPS)} averaged'}.get(
              opt.inference_crop, f'crop {opt.crop_position_in_test}')
          + f' at scale {opt.scale_in_test}, {"raw scores" if opt.no_softmax_in_test else "softmax"} averaged; '
          f'{describe(device, cpu_threads, static)}')
    missing_videos = list(getattr(test_set, 'missing_videos', []) or [])
    if missing_videos:
        print(f'{len(missing_videos)} annotated videos have no frames and count as wrong (--allow_missing), e.g. '
              f'{", ".join(map(str, missing_videos[:3]))}')


def write_predictions(opt, path, test_set, scores, counts, clip_correct, clip_known, elapsed, clip_scores=None):
    """<subset>.json (the reference's val.json; per window with ``clip_scores``, --inference_no_average) and
    the metrics that need no ground truth."""
    video_ids = list(test_set.video_ids)
    predicted_ids = [vid for i, vid in enumerate(video_ids) if counts[i] > 0]
    if clip_scores is not None:
        windows = [(s['video_id'], (s['frame_indices'][0], s['frame_indices'][-1] + 1)) for s in test_set.samples]
        results = segment_results_json([w[0] for w in windows], [w[1] for w in windows], clip_scores,
                                       list(test_set.class_names), opt.output_topk)
    else:
        results = results_json(predicted_ids, scores[counts > 0], list(test_set.class_names), opt.output_topk)
    result_file = os.path.join(opt.result_path, f'{opt.test_subset}.json')
    write_json_atomic(results, result_file)
    print(f'predicted {len(predicted_ids)} videos ({int(counts.sum())} clips) in {elapsed:.1f} s; wrote {result_file}')
    return {'checkpoint': path, 'arch': opt.arch, 'subset': subset_name(opt.test_subset),
            'n_videos': len(video_ids), 'n_predicted_videos': len(predicted_ids), 'n_clips': int(counts.sum()),
            'clip_top1': clip_correct / clip_known if clip_known else None,
            'video_top1': None, 'video_top5': None, 'n_missing': 0, 'missing_videos': [],
            'softmax': not opt.no_softmax_in_test, 'sample_duration': opt.sample_duration,
            'sample_size': opt.sample_size, 'inference_stride': opt.inference_stride,
            'scale_in_test': opt.scale_in_test, 'crop_position_in_test': opt.crop_position_in_test,
            'inference_crop': opt.inference_crop, 'averaged': clip_scores is None,
            'seconds': round(elapsed, 1), 'val_json': result_file}


def report_accuracy(opt, ground_truth, test_set, scores, counts, clip_correct, clip_known):
    """Video top-1/top-5, per_class.csv and confusion.png; returns the metrics to add."""
    class_names, n_classes = list(test_set.class_names), opt.n_classes
    alternative_key = strip_kinetics_suffix if opt.dataset == 'kinetics' else None
    labels, predicted, top1, top5, missing = summarise(ground_truth, class_names, list(test_set.video_ids),
                                                       scores, counts, alternative_key)
    n = len(ground_truth)
    if clip_known:
        print(f'clip top-1 accuracy: {clip_correct / clip_known:.6f} ({clip_correct}/{clip_known} clips)')
    print(f'video top-1 accuracy: {top1.mean():.6f} ({int(top1.sum())}/{n} videos)')
    print(f'video top-5 accuracy: {top5.mean():.6f} ({int(top5.sum())}/{n} videos)')
    if missing:
        print(f'{len(missing)} of {n} videos have no prediction and count as wrong'
              + (' (--allow_missing)' if opt.allow_missing else ''))
    cm = confusion_matrix(labels, predicted, n_classes)
    missing_per_class = np.bincount(labels[predicted < 0][labels[predicted < 0] >= 0], minlength=n_classes)
    rows = per_class_rows(cm, class_names, np.bincount(labels[top5], minlength=n_classes), missing_per_class)
    per_class_file = os.path.join(opt.result_path, 'per_class.csv')
    write_per_class_csv(per_class_file, rows)
    confusion_file = os.path.join(opt.result_path, 'confusion.png')
    draw_confusion_png(confusion_file, cm, class_names,
                       title=f'{opt.arch} on {os.path.basename(opt.annotation_path)} '
                             f'({subset_name(opt.test_subset)}): video top-1 {100 * top1.mean():.2f}%')
    worst = sorted((r for r in rows if r['videos']), key=lambda r: r['top1'])[:3]
    if worst:
        print('lowest classes: ' + ', '.join(f"{r['class_name']} {r['top1']:.2f}" for r in worst))
    print(f'wrote {per_class_file} and {confusion_file}')
    return dict(n_videos=n, video_top1=float(top1.mean()), video_top5=float(top5.mean()), n_missing=len(missing),
                missing_videos=missing, n_video_top1_correct=int(top1.sum()), n_video_top5_correct=int(top5.sum()),
                per_class_csv=per_class_file, confusion_png=confusion_file)


def evaluate_checkpoint(opt, explicit=()):
    """test.py: evaluate the checkpoint of --resume_path / --pretrain_path on --test_subset; returns the
    metrics (also written to <result_path>/<subset>_metrics.json). ``explicit``: the flags given on the
    command line (opts.explicit_options), which win over the checkpoint's options."""
    path = checkpoint_path(opt)
    check_output_folder(opt.result_path, '--result_path')
    checkpoint = load_checkpoint(path)
    device, cpu_threads = select_device(opt.device, opt.cpu_threads)
    model, taken = build_model(opt, checkpoint, path, set(explicit))
    test_set = test_set_for(opt, checkpoint, path)
    # nocrop clips take each video's frame shape; the static graph is traced for one clip shape
    static = opt.inference_crop != 'nocrop' and use_static_graph(opt.eval_graph, device, data_format=opt.data_format)
    predict = compile_predict(model, clip_shape(opt), static)
    os.makedirs(opt.result_path, exist_ok=True)
    describe_run(opt, path, taken, test_set, device, cpu_threads, static)

    start = time.time()
    clip_scores = np.zeros((len(test_set), opt.n_classes)) if opt.inference_no_average else None
    (scores, counts, clip_correct, clip_known), centre = predict_crops(predict, test_set, opt, checkpoint, path,
                                                                      clip_scores)
    metrics = write_predictions(opt, path, test_set, scores, counts, clip_correct, clip_known, time.time() - start,
                                clip_scores)
    ground_truth, _ = load_ground_truth(opt.annotation_path, opt.test_subset)
    if ground_truth:
        metrics.update(report_accuracy(opt, ground_truth, test_set, scores, counts, clip_correct, clip_known))
        if centre is not None:  # the single-crop score beside the three-crop one
            top1 = summarise(ground_truth, list(test_set.class_names), list(test_set.video_ids), centre, counts,
                             strip_kinetics_suffix if opt.dataset == 'kinetics' else None)[2]
            metrics['video_top1_centre_crop'] = float(top1.mean())
            print(f'video top-1 accuracy of the centre crop alone: {top1.mean():.6f}')
    else:
        print(f'subset {subset_name(opt.test_subset)!r} has no labels: accuracy not computed')
    write_json_atomic(metrics, os.path.join(opt.result_path, f'{opt.test_subset}_metrics.json'))
    return metrics


def evaluate_after_training(opt, explicit=()):
    """main.py --inference (CVPR2018: --test): test.py's evaluation of the weights the run ended with
    (<result_path>/last.pdparams, as the reference evaluated its model after the last epoch), written to
    --result_path; with --no_train, of --resume_path / --pretrain_path as test.py does."""
    last = os.path.join(opt.result_path, 'last.pdparams')
    if not opt.no_train and os.path.isfile(last):
        opt = copy.copy(opt)
        opt.resume_path, opt.pretrain_path = last, ''
    return evaluate_checkpoint(opt, explicit)


def main(argv=None):
    """test.py's command: evaluate and return the metrics dict. Bad input exits with one 'error: ...'
    line (SystemExit, status 1)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    opt = parse_opts(argv, description='Video-level evaluation of a checkpoint (val.json, per-class accuracy).')
    quiet_paddle(opt.verbose)
    return run_command(evaluate_checkpoint, opt, explicit_options(argv), output=opt.result_path)
