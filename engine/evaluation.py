"""Video-level evaluation of a checkpoint: test.py's protocol, importable (from a notebook too).

    from engine.evaluation import evaluate_checkpoint
    from opts import parse_test
    metrics = evaluate_checkpoint(parse_test(['--resume_path', 'results/save_200.pdparams', ...])[0])

Every video of the test subset is cut into windows (datasets.get_test_set), each clip's scores go through
the model, and the softmax of the clip scores (raw scores with --no_softmax_in_test) is averaged per
video (engine.video_accuracy). Writes <subset>.json, per_class.csv, confusion.png and
<subset>_metrics.json to the result folder; returns the metrics dict. The checkpoint's model and input
options replace the flags not typed (engine.checkpoint).
"""
import dataclasses
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
from core.errors import BadInput, UserError, quiet_worker
from core.flags import check_output_folder
from core.progress import is_terminal
from engine.checkpoint import (check_class_names, checkpoint_state_dict, load_checkpoint, load_weights,
                               with_data_options, with_model_options)
from engine.runtime import compile_predict, describe, select_device, use_static_graph
from engine.video_accuracy import (VideoScoreAccumulator, confusion_matrix, draw_confusion_png, load_ground_truth,
                                   per_class_rows, results_json, segment_results_json, strip_kinetics_suffix,
                                   scores_of_ground_truth, topk_indices, write_json_atomic, write_per_class_csv)
from engine.logger import write_evaluation_records


def check_checkpoint_paths(resume_path, pretrain_path):
    """The checkpoint to evaluate: --resume_path or --pretrain_path (one of them)."""
    paths = [p for p in (resume_path, pretrain_path) if p]
    if not paths:
        raise UserError('no checkpoint: pass --resume_path (or --pretrain_path) with the .pdparams to evaluate')
    if len(set(paths)) > 1:
        raise UserError(f'--resume_path {resume_path} and --pretrain_path {pretrain_path} name two '
                        'different checkpoints; test.py evaluates one, pass only one of them')
    return paths[0]


def build_model(config, checkpoint, path):
    """(model built from the checkpoint's options (flags for the rest) with its weights, in eval mode; the
    Config with the checkpoint's model and input options merged in; the 'name=value' options taken)."""
    state_dict = checkpoint_state_dict(checkpoint, path)
    config, taken = with_model_options(config, checkpoint, state_dict, path)
    config, taken_data = with_data_options(config, checkpoint.get('data_opts') or {})
    model = models.generate_model(config.model)
    load_weights(model, state_dict, path)
    model.eval()
    return model, config, taken + taken_data


def test_set_for(data, n_classes, checkpoint, path):
    """datasets.get_test_set(data), checked against the checkpoint's classes."""
    test_set = datasets.get_test_set(data)
    class_names, saved_names = list(test_set.class_names), checkpoint.get('class_names')
    if len(class_names) != n_classes:
        raise BadInput(f'{data.annotation_path} lists {len(class_names)} labels but the model has {n_classes} '
                       'classes; evaluate on the annotation the checkpoint was trained with')
    check_class_names(saved_names, class_names, path, data.annotation_path)
    if len(test_set) == 0:
        raise BadInput(f'no clips to evaluate in subset {subset_name(data.test_subset)!r} of '
                       f'{data.annotation_path} (check --test_subset and --video_path)')
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


def predict_videos(predict, test_set, config, clip_scores=None):
    """Run every clip through ``predict`` (normalised clips -> float32 logits); returns (video scores,
    clip counts, clip correct, clip total with a known label). ``clip_scores`` (clips x classes), if given,
    receives each clip's (softmax) scores."""
    data, evaluation = config.data, config.evaluation
    normalize = datasets.input_normalizer(data, config.model.data_format)
    video_labels = np.asarray(test_set.video_labels, dtype=np.int64)
    acc = VideoScoreAccumulator(len(test_set.video_ids), config.model.n_classes,
                                use_softmax=not evaluation.no_softmax_in_test)
    safe_set = SafeClips(test_set, clip_shape(data))
    if data.inference_crop == 'nocrop':
        batching = dict(batch_sampler=VideoBatches(test_set, evaluation.batch_size))
    else:
        batching = dict(batch_size=evaluation.batch_size, shuffle=False, drop_last=False)
    loader = paddle.io.DataLoader(safe_set, num_workers=data.n_threads, worker_init_fn=quiet_worker, **batching)
    clip_correct = clip_known = 0
    n_batches, start = len(loader), time.time()
    plain = config.run.no_tqdm or not is_terminal(sys.stderr)  # bars only on a terminal: no \r fragments in a log
    with tqdm(loader, total=n_batches, desc=f'test ({data.test_subset})', disable=plain,
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
            if plain and (i == n_batches or i % max(1, n_batches // 10) == 0):
                print(f'test: batch {i}/{n_batches} ({time.time() - start:.0f} s)', flush=True)
    scores, counts = acc.video_scores()
    return scores, counts, clip_correct, clip_known


# --inference_crop three_crop: with the short side at --sample_size, the left, centre and right squares of a
# landscape frame (top, centre and bottom of a portrait one) cover all of it
THREE_CROPS = ('tl', 'c', 'br')


def predict_crops(predict, test_set, config, checkpoint, path, clip_scores=None):
    """predict_videos with --inference_crop's crops: the one crop of the test set, or (three_crop) each of
    THREE_CROPS over the same windows, their video (and clip) scores averaged and their clips counted together.
    Returns predict_videos' tuple and the centre crop's video scores (None unless three_crop)."""
    if config.data.inference_crop != 'three_crop':
        return predict_videos(predict, test_set, config, clip_scores), None
    passes = []
    for position in THREE_CROPS:
        crop = config.replace(data=dataclasses.replace(config.data, crop_position_in_test=position))
        crop_scores = None if clip_scores is None else np.zeros_like(clip_scores)
        crop_set = test_set_for(crop.data, config.model.n_classes, checkpoint, path)
        passes.append(predict_videos(predict, crop_set, crop, crop_scores) + (crop_scores,))
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


def describe_run(config, path, taken, test_set, device, cpu_threads, static):
    data = config.data
    print(f'checkpoint: {path} ({config.model.arch}'
          + (f'; from the checkpoint: {", ".join(taken)}' if taken else '') + ')')
    stride = f'stride {data.inference_stride}' if data.inference_stride else 'non-overlapping'
    print(f'test subset: {subset_name(data.test_subset)}, {len(test_set.video_ids)} videos, {len(test_set)} clips of '
          f'{data.sample_duration} frames ({stride}), '
          + {'nocrop': 'no crop', 'three_crop': f'crops {"/".join(THREE_CROPS)} averaged'}.get(
              data.inference_crop, f'crop {data.crop_position_in_test}')
          + f' at scale {data.scale_in_test}, '
          f'{"raw scores" if config.evaluation.no_softmax_in_test else "softmax"} averaged; '
          f'{describe(device, cpu_threads, static)}')
    missing_videos = list(getattr(test_set, 'missing_videos', []) or [])
    if missing_videos:
        print(f'{len(missing_videos)} annotated videos have no frames and count as wrong (--allow_missing), e.g. '
              f'{", ".join(map(str, missing_videos[:3]))}')


def write_predictions(config, path, test_set, scores, counts, clip_correct, clip_known, elapsed, clip_scores=None):
    """<subset>.json (the reference's val.json; per window with ``clip_scores``, --inference_no_average) and
    the metrics that need no ground truth."""
    data, topk = config.data, config.evaluation.output_topk
    video_ids = list(test_set.video_ids)
    predicted_ids = [vid for i, vid in enumerate(video_ids) if counts[i] > 0]
    if clip_scores is not None:
        windows = [(s['video_id'], (s['frame_indices'][0], s['frame_indices'][-1] + 1)) for s in test_set.samples]
        results = segment_results_json([w[0] for w in windows], [w[1] for w in windows], clip_scores,
                                       list(test_set.class_names), topk)
    else:
        results = results_json(predicted_ids, scores[counts > 0], list(test_set.class_names), topk)
    result_file = os.path.join(config.run.result_path, f'{data.test_subset}.json')
    write_json_atomic(results, result_file)
    print(f'predicted {len(predicted_ids)} videos ({int(counts.sum())} clips) in {elapsed:.1f} s; wrote {result_file}')
    return {'checkpoint': path, 'arch': config.model.arch, 'subset': subset_name(data.test_subset),
            'n_videos': len(video_ids), 'n_predicted_videos': len(predicted_ids), 'n_clips': int(counts.sum()),
            'clip_top1': clip_correct / clip_known if clip_known else None,
            'video_top1': None, 'video_top5': None, 'n_missing': 0, 'missing_videos': [],
            'softmax': not config.evaluation.no_softmax_in_test, 'sample_duration': data.sample_duration,
            'sample_size': data.sample_size, 'inference_stride': data.inference_stride,
            'scale_in_test': data.scale_in_test, 'crop_position_in_test': data.crop_position_in_test,
            'inference_crop': data.inference_crop, 'averaged': clip_scores is None,
            'seconds': round(elapsed, 1), 'val_json': result_file}


def report_accuracy(config, ground_truth, test_set, scores, counts, clip_correct, clip_known, epoch=None):
    """Video top-1/top-5, per_class.csv, confusion.png and (--vdl) the VisualDL records of the checkpoint's
    ``epoch``; returns the metrics to add."""
    data, result_path = config.data, config.run.result_path
    class_names, n_classes = list(test_set.class_names), config.model.n_classes
    alternative_key = strip_kinetics_suffix if data.dataset == 'kinetics' else None
    labels, predicted, top1, top5, missing = summarise(ground_truth, class_names, list(test_set.video_ids),
                                                       scores, counts, alternative_key)
    n = len(ground_truth)
    if clip_known:
        print(f'clip top-1 accuracy: {clip_correct / clip_known:.6f} ({clip_correct}/{clip_known} clips)')
    print(f'video top-1 accuracy: {top1.mean():.6f} ({int(top1.sum())}/{n} videos)')
    print(f'video top-5 accuracy: {top5.mean():.6f} ({int(top5.sum())}/{n} videos)')
    if missing:
        print(f'{len(missing)} of {n} videos have no prediction and count as wrong'
              + (' (--allow_missing)' if data.allow_missing else ''))
    cm = confusion_matrix(labels, predicted, n_classes)
    missing_per_class = np.bincount(labels[predicted < 0][labels[predicted < 0] >= 0], minlength=n_classes)
    rows = per_class_rows(cm, class_names, np.bincount(labels[top5], minlength=n_classes), missing_per_class)
    per_class_file = os.path.join(result_path, 'per_class.csv')
    write_per_class_csv(per_class_file, rows)
    confusion_file = os.path.join(result_path, 'confusion.png')
    title = (f'{config.model.arch} on {os.path.basename(data.annotation_path)} ({subset_name(data.test_subset)}): '
             f'video top-1 {100 * top1.mean():.2f}%')
    draw_confusion_png(confusion_file, cm, class_names, title=title)
    vdl = {}
    if config.run.vdl:
        gt_scores, gt_labels = scores_of_ground_truth(ground_truth, class_names, list(test_set.video_ids), scores,
                                                      counts, alternative_key)
        vdl['vdl'] = write_evaluation_records(os.path.join(result_path, 'vdl'), epoch, cm, class_names, rows,
                                              float(top1.mean()), float(top5.mean()), gt_scores, gt_labels,
                                              subset=data.test_subset, title=title)
    worst = sorted((r for r in rows if r['videos']), key=lambda r: r['top1'])[:3]
    if worst:
        print('lowest classes: ' + ', '.join(f"{r['class_name']} {r['top1']:.2f}" for r in worst))
    print(f'wrote {per_class_file} and {confusion_file}')
    return dict(n_videos=n, video_top1=float(top1.mean()), video_top5=float(top5.mean()), n_missing=len(missing),
                missing_videos=missing, n_video_top1_correct=int(top1.sum()), n_video_top5_correct=int(top5.sum()),
                per_class_csv=per_class_file, confusion_png=confusion_file, **vdl)


def evaluate_checkpoint(config):
    """test.py: evaluate the checkpoint at config.evaluation.checkpoint_path on the test subset; returns the
    metrics (also written to <result_path>/<subset>_metrics.json). The checkpoint's model and input options
    are used for every flag not typed (config.given)."""
    path = config.evaluation.checkpoint_path
    check_output_folder(config.run.result_path, '--result_path')
    checkpoint = load_checkpoint(path)
    device, cpu_threads = select_device(config.run.device, config.run.cpu_threads)
    model, config, taken = build_model(config, checkpoint, path)
    test_set = test_set_for(config.data, config.model.n_classes, checkpoint, path)
    # nocrop clips take each video's frame shape; the static graph is traced for one clip shape
    static = config.data.inference_crop != 'nocrop' and use_static_graph(
        config.evaluation.eval_graph, device, data_format=config.model.data_format)
    predict = compile_predict(model, clip_shape(config.data), static)
    os.makedirs(config.run.result_path, exist_ok=True)
    describe_run(config, path, taken, test_set, device, cpu_threads, static)

    start = time.time()
    clip_scores = (np.zeros((len(test_set), config.model.n_classes))
                   if config.evaluation.inference_no_average else None)
    (scores, counts, clip_correct, clip_known), centre = predict_crops(predict, test_set, config, checkpoint, path,
                                                                      clip_scores)
    metrics = write_predictions(config, path, test_set, scores, counts, clip_correct, clip_known,
                                time.time() - start, clip_scores)
    ground_truth, _ = load_ground_truth(config.data.annotation_path, config.data.test_subset)
    if ground_truth:
        metrics.update(report_accuracy(config, ground_truth, test_set, scores, counts, clip_correct, clip_known,
                                       epoch=checkpoint.get('epoch')))
        if centre is not None:  # the single-crop score beside the three-crop one
            top1 = summarise(ground_truth, list(test_set.class_names), list(test_set.video_ids), centre, counts,
                             strip_kinetics_suffix if config.data.dataset == 'kinetics' else None)[2]
            metrics['video_top1_centre_crop'] = float(top1.mean())
            print(f'video top-1 accuracy of the centre crop alone: {top1.mean():.6f}')
    else:
        print(f'subset {subset_name(config.data.test_subset)!r} has no labels: accuracy not computed')
    write_json_atomic(metrics, os.path.join(config.run.result_path, f'{config.data.test_subset}_metrics.json'))
    return metrics


def evaluate_after_training(config):
    """main.py --inference (CVPR2018: --test): test.py's evaluation of the weights the run ended with
    (<result_path>/last.pdparams, as the reference evaluated its model after the last epoch), written to the
    result folder; with --no_train, of --resume_path / --pretrain_path as test.py does."""
    last = os.path.join(config.run.result_path, 'last.pdparams')
    if not config.train.no_train and os.path.isfile(last):
        path = last
    else:
        path = check_checkpoint_paths(config.train.resume_path, config.train.pretrain_path)
    return evaluate_checkpoint(config.replace(evaluation=dataclasses.replace(config.evaluation,
                                                                              checkpoint_path=path)))
