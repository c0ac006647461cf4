"""Video-level evaluation of a checkpoint: the reference's test protocol and its val.json.

    python test.py --root_path DATA --video_path UCF101/jpg --annotation_path UCF101/ucf101_01.json \
        --result_path results_val --dataset ucf101 --n_classes 101 \
        --resume_path results/save_55.pdparams --model resnet --model_depth 18 --batch_size 128

Every video of --test_subset (default val) is cut into non-overlapping --sample_duration-frame
windows (the last one loop-padded; --inference_stride changes the step), each window is scaled to
--sample_size / --scale_in_test and cropped at --crop_position_in_test (centre by default), and the
softmax of the clip scores (raw scores with --no_softmax_in_test) is averaged per video. This video-level
top-1 is what the paper reports (42.4 % for ResNet-18 from scratch on UCF-101 split 1); main.py's
val.log holds clip accuracy.

Writes to --result_path (created if missing):
  <subset>.json        {"results": {video_id: [{"label", "score"}, ...]}} for every video (top --output_topk)
  per_class.csv        video accuracy per class and the class each one is most often mistaken for
  confusion.png        row-normalised confusion matrix
  <subset>_metrics.json clip top-1, video top-1/top-5, counts, checkpoint and test options

--resume_path and --pretrain_path both name the checkpoint to evaluate; its classifier is kept (the
reference replaced it under --pretrain_path, issue #52). A checkpoint written by main.py carries its
model options, which are used for every model flag not given on the command line; a given flag that
disagrees is an error naming the option.
"""
import argparse
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.abspath(__file__))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from utils.eval_accuracy import (VideoScoreAccumulator, confusion_matrix, draw_confusion_png,  # noqa: E402
                                 load_ground_truth, per_class_rows, results_json, strip_kinetics_suffix,
                                 subset_name, topk_indices, write_json_atomic, write_per_class_csv)


class EvaluationError(Exception):
    """Bad input for test.py; printed as one 'error: ...' line, exit status 1."""


# ----------------------------------------------------------------------------------------------
# Options and checkpoint
# ----------------------------------------------------------------------------------------------

def explicit_options(argv):
    """Names (dests) of the options actually given in argv, abbreviations and '--x=v' included."""
    from opts import build_parser
    parser = build_parser()
    for action in parser._actions:
        action.default = argparse.SUPPRESS
    return set(vars(parser.parse_args(argv)))


def checkpoint_path(opt):
    paths = [p for p in (opt.resume_path, opt.pretrain_path) if p]
    if not paths:
        raise EvaluationError('no checkpoint: pass --resume_path (or --pretrain_path) with the .pdparams to evaluate')
    if len(set(paths)) > 1:
        raise EvaluationError(f'--resume_path {opt.resume_path} and --pretrain_path {opt.pretrain_path} name two '
                              'different checkpoints; test.py evaluates one, pass only one of them')
    return paths[0]


def _arch_parts(arch):
    model, _, depth = str(arch).rpartition('-')
    try:
        return model, int(depth)
    except ValueError:
        return None, None


def classifier_classes(state_dict, model_name):
    """Class count of the classifier stored in a state_dict (None when it cannot be found)."""
    import models
    try:
        name = models.get_classifier_name(model_name)
    except (ValueError, KeyError):
        return None
    bias = state_dict.get(f'{name}.bias')
    if bias is not None and len(bias.shape) == 1:
        return int(bias.shape[0])
    weight = state_dict.get(f'{name}.weight')
    return int(weight.shape[-1]) if weight is not None and len(weight.shape) == 2 else None


def apply_checkpoint_model_opts(opt, checkpoint, state_dict, explicit, path):
    """Take the model options stored in the checkpoint for every model flag not given explicitly.

    Explicit flags that disagree with the checkpoint raise EvaluationError naming each option. Returns
    a list of 'name=value' strings for the options that came from the checkpoint.
    """
    import models
    saved = dict(checkpoint.get('model_opts') or {})
    if not saved and checkpoint.get('arch'):  # converted reference checkpoint: only 'arch' is known
        model, depth = _arch_parts(checkpoint['arch'])
        if model:
            saved.update(model=model, model_depth=depth)
    if 'n_classes' not in saved:
        n = classifier_classes(state_dict, saved.get('model', opt.model))
        if n:
            saved['n_classes'] = n
    given = set(explicit)
    if 'n_finetune_classes' in given:
        given.add('n_classes')
    diffs, taken = [], []
    for name in models.MODEL_OPTION_NAMES:
        if name not in saved:
            continue
        value, flag = saved[name], getattr(opt, name, None)
        if name in given:
            if value != flag and not (isinstance(value, (int, float)) and isinstance(flag, (int, float))
                                      and float(value) == float(flag)):
                diffs.append(f'--{name} {flag} (checkpoint: {value})')
        elif value != flag:
            setattr(opt, name, value)
            taken.append(f'{name}={value}')
    if diffs:
        raise EvaluationError(f'{path} does not match the flags: {"; ".join(diffs)}. Drop these flags '
                              '(the model options are read from the checkpoint) or pass the checkpoint '
                              'that was trained with them')
    opt.arch = f'{opt.model}-{opt.model_depth}'
    return taken


NORMALISATION_FLAGS = ('norm_value', 'value_scale', 'mean_dataset', 'no_mean_norm', 'std_norm')


def apply_checkpoint_data_opts(opt, checkpoint, explicit):
    """Clip size, length, stride and normalisation as the checkpoint was trained, unless given as flags."""
    saved = checkpoint.get('data_opts') or {}
    taken = []
    for name in ('sample_size', 'sample_duration', 'sample_t_stride'):
        if name in saved and name not in explicit and saved[name] != getattr(opt, name):
            setattr(opt, name, saved[name])
            taken.append(f'{name}={saved[name]}')
    if not explicit.intersection(NORMALISATION_FLAGS):
        for name in ('norm_value', 'mean', 'std'):
            if name in saved and saved[name] != getattr(opt, name):
                setattr(opt, name, saved[name])
                taken.append(f'{name}={saved[name]}')
    return taken


def select_device(opt):
    """(device, math threads) for --device and --cpu_threads; see utils/runtime.py."""
    from utils.runtime import select_device as select
    try:
        return select(opt.device, opt.cpu_threads)
    except ValueError as e:
        raise EvaluationError(str(e)) from None


def build_model(opt, checkpoint, path, explicit):
    """Model built from the checkpoint's options (flags for the rest), with the checkpoint's weights, in eval mode."""
    import models
    from utils.checkpoint import checkpoint_state_dict, load_weights
    state_dict = checkpoint_state_dict(checkpoint, path)
    taken = apply_checkpoint_model_opts(opt, checkpoint, state_dict, explicit, path)
    taken += apply_checkpoint_data_opts(opt, checkpoint, set(explicit))
    try:
        model = models.generate_model(opt)
    except ValueError as e:
        raise EvaluationError(f'cannot build the model: {e}') from None
    load_weights(model, state_dict, path)
    model.eval()
    return model, taken


# ----------------------------------------------------------------------------------------------
# Evaluation
# ----------------------------------------------------------------------------------------------

def predict_videos(predict, test_set, opt, n_classes):
    """Run every clip through ``predict`` (clips -> float32 logits); returns (video scores, clip counts, clip correct, clip total with a known label)."""
    import paddle
    from tqdm import tqdm
    from datasets.safe_clips import SafeClips, clip_shape
    from datasets import input_normalizer
    normalize = input_normalizer(opt)
    video_labels = np.asarray(test_set.video_labels, dtype=np.int64)
    acc = VideoScoreAccumulator(len(test_set.video_ids), n_classes, use_softmax=not opt.no_softmax_in_test)
    safe_set = SafeClips(test_set, clip_shape(opt))
    loader = paddle.io.DataLoader(safe_set, batch_size=opt.batch_size, shuffle=False, drop_last=False,
                                  num_workers=opt.n_threads)
    clip_correct = clip_known = 0
    n_batches = len(loader)
    start = time.time()
    bar = tqdm(loader, total=n_batches, desc=f'test ({opt.test_subset})', disable=opt.no_tqdm,
               dynamic_ncols=True)
    try:
        with paddle.no_grad():
            for i, (clips, video_indices, sample_indices, ok) in enumerate(bar, 1):
                error = safe_set.first_error(sample_indices.numpy(), ok.numpy())
                if error:
                    raise EvaluationError(error)
                outputs = predict(normalize(clips)).numpy()
                video_indices = video_indices.numpy().reshape(-1)
                acc.add(outputs, video_indices)
                labels = video_labels[video_indices]
                known = labels >= 0
                clip_correct += int((outputs.argmax(axis=1)[known] == labels[known]).sum())
                clip_known += int(known.sum())
                if opt.no_tqdm and (i == n_batches or i % max(1, n_batches // 10) == 0):
                    print(f'test: batch {i}/{n_batches} ({time.time() - start:.0f} s)', flush=True)
    finally:
        bar.close()
    scores, counts = acc.video_scores()
    return scores, counts, clip_correct, clip_known


def summarise(ground_truth, class_names, video_ids, scores, counts, alternative_key=None):
    """Per-ground-truth-video top-1/top-5 hits, computed exactly as utils/eval_accuracy.evaluate does."""
    index_of = {name: i for i, name in enumerate(class_names)}
    row_of = {vid: i for i, vid in enumerate(video_ids) if counts[i] > 0}
    labels, predicted, top1, top5, missing = [], [], [], [], []
    for video_id, label_name in ground_truth:
        label = index_of.get(label_name, -1)
        row = row_of.get(video_id)
        if row is None and alternative_key is not None:
            row = row_of.get(alternative_key(video_id))
        labels.append(label)
        if row is None:
            missing.append(video_id)
            predicted.append(-1)
            top1.append(False)
            top5.append(False)
            continue
        top = topk_indices(scores[row], 5)
        predicted.append(int(top[0]))
        top1.append(bool(label == top[0]))
        top5.append(bool(label in top))
    return (np.asarray(labels, np.int64), np.asarray(predicted, np.int64), np.asarray(top1, bool),
            np.asarray(top5, bool), missing)


def run(opt, explicit):
    import datasets
    from datasets.safe_clips import one_line
    from utils.checkpoint import CheckpointError, load_checkpoint

    path = checkpoint_path(opt)
    try:
        checkpoint = load_checkpoint(path)
        device, cpu_threads = select_device(opt)
        model, taken = build_model(opt, checkpoint, path, explicit)
    except CheckpointError as e:
        raise EvaluationError(str(e)) from None
    n_classes = opt.n_classes

    try:
        test_set = datasets.get_test_set(opt)
    except (FileNotFoundError, OSError, ValueError, KeyError) as e:
        message = one_line(e)
        if isinstance(e, FileNotFoundError) and not opt.allow_missing and '--allow_missing' not in message:
            message += ' (pass --allow_missing to count such videos as wrong and go on)'
        raise EvaluationError(message) from None
    class_names = list(test_set.class_names)
    saved_names = checkpoint.get('class_names')
    if len(class_names) != n_classes:
        raise EvaluationError(f'{opt.annotation_path} lists {len(class_names)} labels but the model has {n_classes} '
                              'classes; evaluate on the annotation the checkpoint was trained with')
    if saved_names and list(saved_names) != class_names:
        first = next((i for i, (a, b) in enumerate(zip(saved_names, class_names)) if a != b),
                     min(len(saved_names), len(class_names)))
        raise EvaluationError(f'{path} was trained with other class names than {opt.annotation_path} '
                              f'(first difference at index {first}: '
                              f'{saved_names[first] if first < len(saved_names) else None!r} vs '
                              f'{class_names[first] if first < len(class_names) else None!r})')
    if len(test_set) == 0:
        raise EvaluationError(f'no clips to evaluate in subset {subset_name(opt.test_subset)!r} of '
                              f'{opt.annotation_path} (check --test_subset and --video_path)')

    from datasets.safe_clips import clip_shape
    from utils.runtime import compile_predict, describe, use_static_graph
    static = use_static_graph(opt.eval_graph, device, data_format=opt.data_format)
    predict = compile_predict(model, clip_shape(opt), static)

    os.makedirs(opt.result_path, exist_ok=True)
    print(f'checkpoint: {path} ({opt.arch}' + (f'; from the checkpoint: {", ".join(taken)}' if taken else '') + ')')
    print(f'test subset: {subset_name(opt.test_subset)}, {len(test_set.video_ids)} videos, {len(test_set)} clips of '
          f'{opt.sample_duration} frames ({f"stride {opt.inference_stride}" if opt.inference_stride else "non-overlapping"}), crop {opt.crop_position_in_test} at '
          f'scale {opt.scale_in_test}, {"raw scores" if opt.no_softmax_in_test else "softmax"} averaged; '
          f'{describe(device, cpu_threads, static)}')
    missing_videos = list(getattr(test_set, 'missing_videos', []) or [])
    if missing_videos:
        print(f'{len(missing_videos)} annotated videos have no frames and count as wrong (--allow_missing), e.g. '
              f'{", ".join(map(str, missing_videos[:3]))}')

    start = time.time()
    scores, counts, clip_correct, clip_known = predict_videos(predict, test_set, opt, n_classes)
    elapsed = time.time() - start

    video_ids = list(test_set.video_ids)
    predicted_ids = [vid for i, vid in enumerate(video_ids) if counts[i] > 0]
    results = results_json(predicted_ids, scores[counts > 0], class_names, opt.output_topk)
    result_file = os.path.join(opt.result_path, f'{opt.test_subset}.json')
    write_json_atomic(results, result_file)

    alternative_key = strip_kinetics_suffix if opt.dataset == 'kinetics' else None
    ground_truth, _ = load_ground_truth(opt.annotation_path, opt.test_subset)
    metrics = {'checkpoint': path, 'arch': opt.arch, 'subset': subset_name(opt.test_subset),
               'n_videos': len(ground_truth) if ground_truth else len(video_ids),
               'n_predicted_videos': len(predicted_ids), 'n_clips': int(counts.sum()),
               'clip_top1': clip_correct / clip_known if clip_known else None,
               'video_top1': None, 'video_top5': None, 'n_missing': 0, 'missing_videos': [],
               'softmax': not opt.no_softmax_in_test, 'sample_duration': opt.sample_duration,
               'sample_size': opt.sample_size, 'inference_stride': opt.inference_stride,
               'scale_in_test': opt.scale_in_test, 'crop_position_in_test': opt.crop_position_in_test,
               'seconds': round(elapsed, 1), 'val_json': result_file}
    print(f'predicted {len(predicted_ids)} videos ({int(counts.sum())} clips) in {elapsed:.1f} s; wrote {result_file}')
    if not ground_truth:
        print(f'subset {subset_name(opt.test_subset)!r} has no labels: accuracy not computed')
    else:
        labels, predicted, top1, top5, missing = summarise(ground_truth, class_names, video_ids, scores, counts,
                                                           alternative_key)
        n = len(ground_truth)
        metrics.update(video_top1=float(top1.mean()), video_top5=float(top5.mean()), n_missing=len(missing),
                       missing_videos=missing, n_video_top1_correct=int(top1.sum()),
                       n_video_top5_correct=int(top5.sum()))
        if clip_known:
            print(f'clip top-1 accuracy: {clip_correct / clip_known:.6f} ({clip_correct}/{clip_known} clips)')
        print(f'video top-1 accuracy: {top1.mean():.6f} ({int(top1.sum())}/{n} videos)')
        print(f'video top-5 accuracy: {top5.mean():.6f} ({int(top5.sum())}/{n} videos)')
        if missing:
            print(f'{len(missing)} of {n} videos have no prediction and count as wrong'
                  + (' (--allow_missing)' if opt.allow_missing else ''))

        cm = confusion_matrix(labels, predicted, n_classes)
        missing_per_class = np.bincount(labels[predicted < 0][labels[predicted < 0] >= 0], minlength=n_classes)
        top5_per_class = np.bincount(labels[top5], minlength=n_classes)
        rows = per_class_rows(cm, class_names, top5_per_class, missing_per_class)
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
        metrics.update(per_class_csv=per_class_file, confusion_png=confusion_file)
    write_json_atomic(metrics, os.path.join(opt.result_path, f'{opt.test_subset}_metrics.json'))
    return metrics


def main(argv=None):
    """Evaluate; returns the metrics dict. Bad input exits with one 'error: ...' line (SystemExit)."""
    from opts import parse_opts
    argv = sys.argv[1:] if argv is None else list(argv)
    opt = parse_opts(argv, description='Video-level evaluation of a checkpoint (val.json, per-class accuracy).')
    try:
        return run(opt, explicit_options(argv))
    except EvaluationError as e:
        raise SystemExit(f'error: {e}') from None


if __name__ == '__main__':
    main()
