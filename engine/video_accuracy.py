"""Video-level accuracy: clip-score averaging, top-k, val.json I/O, per-class report, confusion picture.

Used by test.py (engine/evaluation.py, while predicting), scripts/predict.py and the
utils/eval_{accuracy,ucf101,hmdb51,kinetics}.py command-line tools, so that accuracy printed by
test.py and accuracy recomputed from its val.json are the same computation. No Paddle here.

The protocol is the one of the reference (Hara et al., CVPR 2018; kenshohara/3D-ResNets-PyTorch
`utils/eval_ucf101.py` / `util_scripts/eval_accuracy.py`): a ground-truth video counts as correct at
top-k when its label is among the k highest-scored labels stored for it; a video without prediction
counts as wrong (or is left out of the denominator with ignore_missing).
"""
import csv
import json
import os
import re

import numpy as np

from datasets.annotation import subset_name
from core import files
from core.errors import BadInput, MissingInput

# Kinetics video folders are '<youtube_id>_<start:06d>_<end:06d>'; the reference keys results by youtube_id.
_KINETICS_SUFFIX = re.compile(r'_\d{6}_\d{6}$')


# ----------------------------------------------------------------------------------------------
# Clip scores -> video scores
# ----------------------------------------------------------------------------------------------

def softmax(logits, axis=-1):
    """Numerically stable softmax in float64."""
    x = np.asarray(logits, dtype=np.float64)
    x = x - x.max(axis=axis, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)


class VideoScoreAccumulator:
    """Streaming per-video average of clip scores; clips of different videos may come in any order.

    `add(outputs, video_indices)` takes a batch of clip outputs (N x C logits) and the index of the video
    each clip belongs to; with `use_softmax` each clip's logits are turned into probabilities first (the
    reference's test protocol), otherwise the raw outputs are averaged (`--no_softmax_in_test`).
    """

    def __init__(self, n_videos, n_classes, use_softmax=True):
        self.use_softmax = use_softmax
        self.sums = np.zeros((n_videos, n_classes), dtype=np.float64)
        self.counts = np.zeros(n_videos, dtype=np.int64)

    def add(self, outputs, video_indices):
        outputs = np.asarray(outputs, dtype=np.float64)
        video_indices = np.asarray(video_indices, dtype=np.int64).reshape(-1)
        if outputs.ndim != 2 or outputs.shape[0] != video_indices.shape[0]:
            raise ValueError(f'outputs {outputs.shape} and video indices {video_indices.shape} do not match')
        if outputs.shape[1] != self.sums.shape[1]:
            raise ValueError(f'outputs have {outputs.shape[1]} classes, expected {self.sums.shape[1]}')
        scores = softmax(outputs) if self.use_softmax else outputs
        np.add.at(self.sums, video_indices, scores)
        np.add.at(self.counts, video_indices, 1)
        return scores

    def video_scores(self):
        """(scores n_videos x C, counts n_videos); videos without clips get all-zero scores and count 0."""
        denom = np.maximum(self.counts, 1)[:, None]
        return self.sums / denom, self.counts.copy()


def average_clip_scores(clip_outputs, video_indices, n_videos=None, use_softmax=True):
    """Video scores = mean over each video's clips of softmax(clip logits) (or of raw logits).

    Returns (scores n_videos x C, clip counts n_videos). This is the reference's video-level protocol:
    probabilities are averaged, not logits, so a single very confident clip cannot outvote the others
    the way it can when logits are averaged.
    """
    clip_outputs = np.asarray(clip_outputs, dtype=np.float64)
    video_indices = np.asarray(video_indices, dtype=np.int64).reshape(-1)
    if n_videos is None:
        n_videos = int(video_indices.max()) + 1 if video_indices.size else 0
    acc = VideoScoreAccumulator(n_videos, clip_outputs.shape[1], use_softmax)
    acc.add(clip_outputs, video_indices)
    return acc.video_scores()


def topk_indices(scores, k):
    """Class indices of the k largest scores per row, best first (ties: lower class index first)."""
    scores = np.asarray(scores)
    n_classes = scores.shape[-1]
    k = n_classes if k is None or k <= 0 else min(k, n_classes)
    order = np.argsort(-scores, axis=-1, kind='stable')
    return order[..., :k]


def topk_correct(scores, labels, k):
    """Boolean per row: label among the top-k scores (rows with label < 0 give False)."""
    labels = np.asarray(labels, dtype=np.int64)
    top = topk_indices(scores, k)
    return (top == labels[:, None]).any(axis=1) & (labels >= 0)


# ----------------------------------------------------------------------------------------------
# val.json
# ----------------------------------------------------------------------------------------------

def results_json(video_ids, scores, class_names, top_k=5):
    """The reference's prediction file: {"results": {video_id: [{"label", "score"}, ... best first]}}.
    ``top_k`` <= 0: every class."""
    results = {}
    top = topk_indices(scores, top_k)
    for i, video_id in enumerate(video_ids):
        results[video_id] = [{'label': class_names[c], 'score': float(scores[i, c])} for c in top[i]]
    return {'results': results}


def segment_results_json(video_ids, segments, scores, class_names, top_k=5):
    """The newer reference's ``--inference_no_average`` file, one entry per window in time order:
    {"results": {video_id: [{"segment": [first frame, last frame + 1], "result": [{"label", "score"}, ...]}]}}.
    ``video_ids``, ``segments`` and ``scores`` have one row per window."""
    per_window = results_json(range(len(video_ids)), scores, class_names, top_k)['results']
    results = {}
    for i, (video_id, segment) in enumerate(zip(video_ids, segments)):
        results.setdefault(video_id, []).append({'segment': [int(segment[0]), int(segment[1])],
                                                 'result': per_window[i]})
    return {'results': results}


def write_json_atomic(obj, path):
    """json.dump to a temporary file next to `path`, then rename it over `path` (core.files: a normal file's
    mode, 0644 under umask 022)."""
    files.write_json_atomic(obj, path, indent=1)


def _read_json(path, what):
    if not os.path.isfile(path):
        raise MissingInput(f'{path}: {what} not found')
    try:
        with open(path) as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BadInput(f'{path}: {what} is not valid JSON ({e})') from None


def load_ground_truth(annotation_path, subset='validation'):
    """[(video_id, label_name)] of `subset` in an ActivityNet-style annotation, and its label list.

    Videos without a label (e.g. the Kinetics test set) are left out.
    """
    data = _read_json(annotation_path, 'annotation file')
    if not isinstance(data, dict) or not isinstance(data.get('database'), dict):
        raise BadInput(f'{annotation_path}: not an annotation file (no "database" object)')
    subset = subset_name(subset)
    ground_truth = []
    for video_id, v in data['database'].items():
        if not isinstance(v, dict) or not isinstance(v.get('annotations') or {}, dict):
            raise BadInput(f'{annotation_path}: entry {video_id!r} of "database" is not an object with '
                           '"subset" and "annotations"')
        if v.get('subset') != subset:
            continue
        label = (v.get('annotations') or {}).get('label')
        if label is not None:
            ground_truth.append((video_id, label))
    return ground_truth, list(data.get('labels', []))


def load_results(result_path):
    """{video_id: [(label_name, score)] sorted best first} from a val.json-style file."""
    data = _read_json(result_path, 'prediction file')
    if not isinstance(data, dict) or not isinstance(data.get('results'), dict):
        raise BadInput(f'{result_path}: not a prediction file (no "results" dict)')
    results = {}
    for video_id, entries in data['results'].items():
        try:
            pairs = [(e['label'], float(e['score'])) for e in entries]
        except (TypeError, KeyError, ValueError):
            raise BadInput(f'{result_path}: the predictions of {video_id!r} are not a list of '
                           '{"label": ..., "score": number} (as test.py writes)') from None
        pairs.sort(key=lambda p: p[1], reverse=True)  # stable: equal scores keep the file's order
        results[video_id] = pairs
    return results


def strip_kinetics_suffix(video_id):
    """'abc_000010_000020' -> 'abc' (the reference's Kinetics result key); other ids unchanged."""
    return _KINETICS_SUFFIX.sub('', video_id)


def match_prediction(video_id, results, alternative_key=None):
    """The prediction list for a ground-truth video, looked up by its id or by alternative_key(id)."""
    if video_id in results:
        return results[video_id]
    if alternative_key is not None:
        return results.get(alternative_key(video_id))
    return None


def evaluate(ground_truth, results, top_k=1, ignore_missing=False, alternative_key=None):
    """Top-k video accuracy of `results` on `ground_truth` ([(video_id, label_name)]).

    Returns a dict: accuracy, n_ground_truth, n_results, n_missing (ground-truth videos without
    prediction, counted as wrong unless ignore_missing), n_correct, missing (their ids).
    """
    n_correct, missing = 0, []
    for video_id, label in ground_truth:
        pred = match_prediction(video_id, results, alternative_key)
        if pred is None:
            missing.append(video_id)
            continue
        if label in [p[0] for p in pred[:top_k]]:
            n_correct += 1
    denominator = len(ground_truth) - (len(missing) if ignore_missing else 0)
    return {'accuracy': n_correct / denominator if denominator else float('nan'),
            'n_ground_truth': len(ground_truth), 'n_results': len(results), 'n_missing': len(missing),
            'n_correct': n_correct, 'missing': missing, 'top_k': top_k}


# ----------------------------------------------------------------------------------------------
# Per-class report and confusion matrix
# ----------------------------------------------------------------------------------------------

def confusion_matrix(labels, predictions, n_classes):
    """cm[true, predicted] counts over the rows with label >= 0 and prediction >= 0."""
    labels = np.asarray(labels, dtype=np.int64)
    predictions = np.asarray(predictions, dtype=np.int64)
    keep = (labels >= 0) & (predictions >= 0)
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (labels[keep], predictions[keep]), 1)
    return cm


def per_class_rows(cm, class_names, top5_correct=None, missing_per_class=None):
    """One dict per class: videos, correct top-1 (and top-5), accuracy, most frequent wrong prediction.

    Videos without prediction (`missing_per_class`) count in `videos` and as wrong.
    """
    n = cm.shape[0]
    missing_per_class = np.zeros(n, np.int64) if missing_per_class is None else np.asarray(missing_per_class)
    rows = []
    for c in range(n):
        predicted = int(cm[c].sum())
        videos = predicted + int(missing_per_class[c])
        correct = int(cm[c, c])
        off = cm[c].copy()
        off[c] = 0
        confused = int(off.argmax()) if off.sum() > 0 else -1
        row = {'class_index': c, 'class_name': class_names[c], 'videos': videos,
               'missing': int(missing_per_class[c]), 'correct_top1': correct,
               'top1': round(correct / videos, 6) if videos else ''}
        if top5_correct is not None:
            row['correct_top5'] = int(top5_correct[c])
            row['top5'] = round(int(top5_correct[c]) / videos, 6) if videos else ''
        row['most_confused_with'] = class_names[confused] if confused >= 0 else ''
        row['confused_count'] = int(off[confused]) if confused >= 0 else 0
        rows.append(row)
    return rows


def write_per_class_csv(path, rows):
    with files.atomic_open(path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0].keys()) if rows else ['class_index'])
        writer.writeheader()
        writer.writerows(rows)


def _font(size):
    from PIL import ImageFont
    try:
        return ImageFont.load_default(size=size)  # Pillow >= 10.1 with FreeType: scalable
    except TypeError:
        return ImageFont.load_default()


def _colour(value):
    """White -> dark blue for value in [0, 1]."""
    v = min(max(float(value), 0.0), 1.0)
    low, high = np.array([255, 255, 255]), np.array([8, 48, 107])
    mid = np.array([66, 146, 198])
    c = low + (mid - low) * (v / 0.5) if v < 0.5 else mid + (high - mid) * ((v - 0.5) / 0.5)
    return tuple(int(round(x)) for x in c)


def _text_width(text, font):
    from PIL import Image, ImageDraw
    box = ImageDraw.Draw(Image.new('RGB', (1, 1))).textbbox((0, 0), text, font=font)
    return box[2] - box[0]


def _draw_grid(img, draw, cm, left, top, cell):
    """The row-normalised cells, a grid line every 10 classes, and the frame."""
    from PIL import Image
    n, grid = cm.shape[0], cm.shape[0] * cell
    norm = np.divide(cm, np.maximum(cm.sum(axis=1, keepdims=True), 1), dtype=np.float64)
    palette = np.array([_colour(v) for v in np.linspace(0, 1, 256)], dtype=np.uint8)
    levels = np.round(norm * 255).astype(np.int64)
    cells = np.repeat(np.repeat(palette[levels], cell, axis=0), cell, axis=1).astype(np.uint8)
    img.paste(Image.fromarray(cells), (left, top))
    line = (200, 200, 200)
    for i in range(0, n + 1, 10 if n > 20 else 1):
        draw.line([(left + i * cell, top), (left + i * cell, top + grid)], fill=line)
        draw.line([(left, top + i * cell), (left + grid, top + i * cell)], fill=line)
    draw.rectangle([left, top, left + grid, top + grid], outline=(0, 0, 0))


def _draw_class_labels(img, draw, names, left, top, cell, label_w, font, font_size):
    """Class names on both axes (columns: drawn on a strip rotated 90 degrees)."""
    from PIL import Image, ImageDraw
    for i, s in enumerate(names):
        y = top + i * cell + (cell - font_size) // 2 - 1
        draw.text((left - 6 - _text_width(s, font), y), s, fill=(0, 0, 0), font=font)
    strip = Image.new('RGB', (label_w, len(names) * cell), 'white')
    sd = ImageDraw.Draw(strip)
    for i, s in enumerate(names):
        sd.text((4, i * cell + (cell - font_size) // 2 - 1), s, fill=(0, 0, 0), font=font)
    img.paste(strip.rotate(90, expand=True), (left, top - label_w - 6))


def _draw_colour_bar(draw, x, y, height):
    for j in range(height):
        draw.line([(x, y + j), (x + 20, y + j)], fill=_colour(1 - j / max(height - 1, 1)))
    draw.rectangle([x, y, x + 20, y + height], outline=(0, 0, 0))
    draw.text((x + 26, y - 2), '1.0', fill=(0, 0, 0), font=_font(11))
    draw.text((x + 26, y + height - 12), '0.0', fill=(0, 0, 0), font=_font(11))


def draw_confusion_png(path, cm, class_names, title=''):
    """Row-normalised confusion matrix (rows: true class, columns: predicted) as a PNG drawn with PIL
    (confusion_image); returns its (width, height)."""
    img = confusion_image(cm, class_names, title)
    with files.atomic_path(path, suffix='.png') as tmp:
        img.save(tmp, format='PNG')
    return img.size


def confusion_image(cm, class_names, title=''):
    """The confusion matrix picture (a PIL RGB image): rows true class, columns predicted, row-normalised.

    Cell size adapts to the class count (12 px for 101 classes); class names are written on both axes
    when cells are at least 8 px, otherwise every 10th index is marked.
    """
    from PIL import Image, ImageDraw
    n = cm.shape[0]
    cell = int(max(2, min(28, 1300 // max(n, 1))))
    with_names = cell >= 8
    font_size = max(8, min(cell - 1, 14)) if with_names else 10
    font, title_font = _font(font_size), _font(16)
    names = [f'{i} {name}' for i, name in enumerate(class_names)]
    label_w = (max(_text_width(s, font) for s in names) + 8) if with_names and names else 40
    left, top = label_w + 24, 50 + label_w + 24
    grid = n * cell
    title = title or 'Confusion matrix'
    subtitle = 'rows: true class, columns: predicted class, colour: fraction of the row'
    width = max(left + grid + 90 + 20,
                left + max(_text_width(title, title_font), _text_width(subtitle, _font(11))) + 20)
    img = Image.new('RGB', (width, top + grid + 40), 'white')
    draw = ImageDraw.Draw(img)
    _draw_grid(img, draw, cm, left, top, cell)
    if with_names:
        _draw_class_labels(img, draw, names, left, top, cell, label_w, font, font_size)
    else:
        for i in range(0, n, 10):
            draw.text((left - 30, top + i * cell), str(i), fill=(0, 0, 0), font=font)
            draw.text((left + i * cell, top - 16), str(i), fill=(0, 0, 0), font=font)
    draw.text((left, 10), title, fill=(0, 0, 0), font=title_font)
    draw.text((left, 30), subtitle, fill=(80, 80, 80), font=_font(11))
    draw.text((left - 6 - _text_width('true', title_font), top - 22), 'true', fill=(0, 0, 0), font=title_font)
    draw.text((left + grid - _text_width('predicted', title_font), top + grid + 8), 'predicted',
              fill=(0, 0, 0), font=title_font)
    _draw_colour_bar(draw, left + grid + 20, top, min(grid, 300))
    return img


def per_class_image(rows, title='Per-class video accuracy'):
    """A bar per class (top-1, and top-5 as a lighter bar behind it when the rows have it), worst class first:
    a PIL RGB image of per_class_rows(...)."""
    from PIL import Image, ImageDraw
    rows = sorted((r for r in rows if r['videos']), key=lambda r: (r['top1'], r['class_index']))
    font, bar_h, bar_w = _font(12), 14, 400
    labels = [f"{r['class_index']} {r['class_name']}" for r in rows]
    label_w = max([_text_width(s, font) for s in labels] + [40]) + 10
    width, top = label_w + bar_w + 120, 40
    img = Image.new('RGB', (width, top + len(rows) * (bar_h + 4) + 20), 'white')
    draw = ImageDraw.Draw(img)
    draw.text((10, 10), title + (' (top-5: light bar)' if rows and 'top5' in rows[0] else ''), fill=(0, 0, 0),
              font=_font(14))
    for i, (r, s) in enumerate(zip(rows, labels)):
        y = top + i * (bar_h + 4)
        draw.text((label_w - 6 - _text_width(s, font), y), s, fill=(0, 0, 0), font=font)
        if 'top5' in r:
            draw.rectangle([label_w, y, label_w + int(bar_w * r['top5']), y + bar_h], fill=_colour(0.3))
        draw.rectangle([label_w, y, label_w + int(bar_w * r['top1']), y + bar_h], fill=_colour(0.9))
        draw.rectangle([label_w, y, label_w + bar_w, y + bar_h], outline=(180, 180, 180))
        draw.text((label_w + bar_w + 8, y), f"{r['top1']:.3f} ({r['correct_top1']}/{r['videos']})", fill=(0, 0, 0),
                  font=font)
    return img


def per_class_markdown(rows):
    """per_class_rows(...) as a Markdown table (VisualDL's text view), worst class first; empty cells, not NaN,
    where a class has no video or no confusion."""
    keys = [k for k in ('class_index', 'class_name', 'videos', 'correct_top1', 'top1', 'top5',
                        'most_confused_with', 'confused_count') if rows and k in rows[0]]
    ordered = sorted(rows, key=lambda r: (r['top1'] if r['videos'] else 2.0, r['class_index']))
    lines = ['| ' + ' | '.join(keys) + ' |', '|' + '---|' * len(keys)]
    for r in ordered:
        lines.append('| ' + ' | '.join(_cell(r[k]) for k in keys) + ' |')
    return '\n'.join(lines)


def _cell(value):
    if value is None or (isinstance(value, float) and value != value):
        return ''
    return f'{value:.4f}' if isinstance(value, float) else str(value).replace('|', '\\|')


def read_per_class_table(path):
    """per_class.csv as a pandas DataFrame for display (the notebook's table): classes without confusion or
    without videos show an empty cell, not NaN (pandas reads an empty CSV field as NaN by default)."""
    import pandas as pd
    table = pd.read_csv(path, keep_default_na=False, na_values=[])
    for column in ('top1', 'top5'):
        if column in table:  # numbers where there are numbers; the empty cells stay empty strings
            table[column] = [float(v) if v != '' else '' for v in table[column]]
    return table


def scores_of_ground_truth(ground_truth, class_names, video_ids, scores, counts, alternative_key=None):
    """(scores n_gt x C, labels n_gt) aligned with ``ground_truth`` ([(video_id, label_name)]): the video
    scores of each ground-truth video (all zero for one without prediction) and its class index (-1: a label
    not in ``class_names``) -- the input of VisualDL's PR curves (engine.logger.write_evaluation_records)."""
    scores = np.asarray(scores, dtype=np.float64)
    index_of = {name: i for i, name in enumerate(class_names)}
    row_of = {vid: i for i, vid in enumerate(video_ids) if counts[i] > 0}
    out = np.zeros((len(ground_truth), scores.shape[1]), dtype=np.float64)
    labels = np.full(len(ground_truth), -1, dtype=np.int64)
    for i, (video_id, label_name) in enumerate(ground_truth):
        labels[i] = index_of.get(label_name, -1)
        row = row_of.get(video_id)
        if row is None and alternative_key is not None:
            row = row_of.get(alternative_key(video_id))
        if row is not None:
            out[i] = scores[row]
    return out, labels
