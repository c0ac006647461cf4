"""ActivityNet-style annotation files (``{"labels": [...], "database": {video_id: {...}}}``) and the
subset names; importable without Paddle (utils/ and the accuracy scripts read them too)."""
import json
import math
import os

from core.errors import BadInput, MissingInput

__all__ = ['SUBSET_NAMES', 'subset_name', 'load_annotation', 'get_class_names', 'check_subset', 'check_segment']

# Short names used by the options -> JSON subset names.
SUBSET_NAMES = {
    'train': 'training', 'training': 'training',
    'val': 'validation', 'validation': 'validation',
    'test': 'testing', 'testing': 'testing',
}


def subset_name(subset):
    """'val' -> 'validation' (also 'train', 'test'); other names pass through unchanged."""
    return SUBSET_NAMES.get(subset, subset)


def load_annotation(path):
    """Read an ActivityNet-style annotation JSON; one-line errors naming the file."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise MissingInput('annotation file not found: {} (check --root_path and --annotation_path; '
                                'utils/ucf101_json.py or hmdb51_json.py writes it)'.format(path))
    try:
        with open(path, 'r', encoding='utf-8') as f:
            data = json.load(f, object_pairs_hook=_without_duplicates)
    except _DuplicateKey as e:
        raise BadInput('annotation file {}: the key {!r} appears twice in one object (JSON keeps only the '
                       'last one); keep one entry per key'.format(path, e.args[0])) from None
    except json.JSONDecodeError as e:
        raise BadInput('annotation file {} is not valid JSON: {}'.format(path, e)) from None
    except UnicodeDecodeError as e:
        raise BadInput('annotation file {} is not UTF-8 text: {}'.format(path, e)) from None
    if not isinstance(data, dict):
        raise BadInput('annotation file {}: expected a JSON object with "labels" and '
                         '"database", got {}'.format(path, type(data).__name__))
    missing = [k for k in ('database',) if k not in data]
    if 'labels' not in data and 'taxonomy' not in data:
        missing.insert(0, 'labels')
    if missing:
        raise BadInput('annotation file {} lacks the key(s) {} (expected {{"labels": [...], '
                         '"database": {{...}}}})'.format(path, ', '.join(repr(k) for k in missing)))
    if not isinstance(data['database'], dict):
        raise BadInput('annotation file {}: "database" must be an object mapping video ids '
                         'to entries'.format(path))
    if 'labels' in data and not isinstance(data['labels'], list):
        raise BadInput('annotation file {}: "labels" must be a list of class names'.format(path))
    return data


class _DuplicateKey(Exception):
    pass


def _without_duplicates(pairs):
    """json's object_pairs_hook: a dict, refusing a key given twice (json.load silently keeps the last)."""
    out = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


# The JSON spellings of the subsets, as the reference writes them.
JSON_SUBSETS = ('training', 'validation', 'testing')


def check_subset(value, key, annotation_path):
    """A database entry's ``subset``: a string; a known subset spelled otherwise ('Training', ' validation')
    is an error (the video would silently be in no subset)."""
    if not isinstance(value, str):
        raise BadInput('annotation file {}: video {!r} has subset {!r}; expected one of {}'.format(
            annotation_path, key, value, ', '.join(JSON_SUBSETS)))
    if value not in JSON_SUBSETS and value.strip().lower() in SUBSET_NAMES:
        raise BadInput('annotation file {}: video {!r} has subset {!r}; the subsets are spelled {} '
                       '(lower case)'.format(annotation_path, key, value, ', '.join(JSON_SUBSETS)))
    return value


def check_segment(segment, key, annotation_path, unit='frames'):
    """A JSON ``segment`` as (begin, end): two finite numbers, begin <= end; one error naming the video
    and the value otherwise."""
    ok = (isinstance(segment, (list, tuple)) and len(segment) == 2
          and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in segment)
          and segment[0] <= segment[1] and segment[0] >= 0)
    if not ok:
        raise BadInput('annotation file {}: video {!r} has segment {}; expected [begin, end] with two '
                       'numbers ({}), 0 <= begin <= end'.format(annotation_path, key, json.dumps(segment), unit))
    return segment[0], segment[1]


def get_class_names(data, annotation_path='<annotation>'):
    """Class names in class-index order: the JSON ``labels`` list (ActivityNet files without
    ``labels``: the leaf nodes of ``taxonomy``, as the reference)."""
    if 'labels' in data:
        names = [str(x) for x in data['labels']]
    else:
        taxonomy = data['taxonomy']
        if not isinstance(taxonomy, list):
            raise BadInput('annotation file {}: "taxonomy" must be a list of nodes, got {}'.format(
                annotation_path, type(taxonomy).__name__))
        for node in taxonomy:
            lacking = [k for k in ('nodeId', 'nodeName', 'parentId') if not isinstance(node, dict) or k not in node]
            if lacking:
                raise BadInput('annotation file {}: the taxonomy node {} lacks {} (each node needs "nodeId", '
                               '"nodeName" and "parentId"; null for the root)'.format(
                                   annotation_path, json.dumps(node)[:100], ', '.join(repr(k) for k in lacking)))
        parents = {node['parentId'] for node in taxonomy}
        names = [node['nodeName'] for node in taxonomy if node['nodeId'] not in parents]
    seen = set()
    dups = sorted({n for n in names if n in seen or seen.add(n)})
    if dups:
        raise BadInput('annotation file {}: duplicate class names in "labels": {}'.format(
            annotation_path, dups[:5]))
    return names
