"""A tiny JPEG-frame dataset in the reference's layout, for end-to-end tests of main.py and test.py.

Each class has its own colour, so a narrow network learns it in a few epochs on the CPU.
"""
import hashlib
import os

import numpy as np

from benchmarks.bench_loader import write_frame_tree

CLASS_COLOURS = {'RedThings': (200, 40, 40), 'GreenThings': (40, 200, 40), 'BlueThings': (40, 40, 200)}


def make_frame_dataset(root, n_train=4, n_val=2, n_frames=8, size=(40, 32), n_classes=3, seed=0):
    """Writes <root>/jpg/<class>/<video>/image_%05d.jpg + n_frames and <root>/ucf101_01.json."""
    rng = np.random.default_rng(seed)
    labels = list(CLASS_COLOURS)[:n_classes]
    videos = [(label, f'v_{label}_g{i + 1:02d}_c01', 'validation' if i < n_val else 'training')
              for label in labels for i in range(n_train + n_val)]

    def frames_of(label):
        return [np.clip(np.array(CLASS_COLOURS[label]) + rng.integers(-40, 40, size=(size[1], size[0], 3)),
                        0, 255).astype('uint8') for _ in range(n_frames)]

    return write_frame_tree(os.path.join(root, 'jpg'), os.path.join(root, 'ucf101_01.json'), labels, videos,
                            frames_of)


def tiny_run_args(root, result_path, *extra):
    """main.py/test.py flags for a fast run over make_frame_dataset(root)."""
    return ['--root_path', str(root), '--video_path', 'jpg', '--annotation_path', 'ucf101_01.json',
            '--result_path', str(result_path), '--dataset', 'ucf101', '--n_classes', '3',
            '--model', 'resnet', '--model_depth', '10', '--resnet_widen_factor', '0.125',
            '--sample_size', '32', '--sample_duration', '4', '--batch_size', '4', '--n_threads', '0',
            '--no_tqdm', '--device', 'cpu', *extra]


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tree_digest(root):
    """{relative path: sha1} of every file below root."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            with open(path, 'rb') as f:
                out[os.path.relpath(path, root)] = hashlib.sha1(f.read()).hexdigest()
    return out
