"""ActivityNet-style annotation files (``{"labels": [...], "database": {video_id: {...}}}``) and the
subset names; importable without Paddle (utils/ and the accuracy scripts read them too)."""
import json
import os

from core.errors import BadInput, MissingInput

__all__ = ['SUBSET_NAMES', 'subset_name', 'load_annotation', 'get_class_names']

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
            data = json.load(f)
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


def get_class_names(data, annotation_path='<annotation>'):
    """Class names in class-index order: the JSON ``labels`` list (ActivityNet files without
    ``labels``: the leaf nodes of ``taxonomy``, as the reference)."""
    if 'labels' in data:
        names = [str(x) for x in data['labels']]
    else:
        taxonomy = data['taxonomy']
        parents = {node['parentId'] for node in taxonomy}
        names = [node['nodeName'] for node in taxonomy if node['nodeId'] not in parents]
    seen = set()
    dups = sorted({n for n in names if n in seen or seen.add(n)})
    if dups:
        raise BadInput('annotation file {}: duplicate class names in "labels": {}'.format(
            annotation_path, dups[:5]))
    return names
