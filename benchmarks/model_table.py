"""Parameter and FLOP table of the models (docs/MODELS.md).

    python -m benchmarks.model_table                       # print the markdown table
    python -m benchmarks.model_table --update docs/MODELS.md   # rewrite the table between the markers
    python -m benchmarks.model_table --quick                   # parameters only (no forward pass)

Parameters: trainable parameters (conv, BN affine, classifier), 400 classes.
FLOPs: multiply-accumulates (MACs) of every Conv3D and Linear, counted with forward post-hooks
during one real forward pass of a 1 x 3 x 16 x 112 x 112 clip (eval mode):
Conv3D ``MACs = numel(output) * (C_in / groups) * kT * kH * kW``, Linear ``in * out``.
Bias additions, BatchNorm, activations, pooling, the SE gating product and the residual
additions are not counted (together well under 1 % here).  GFLOPs = 2 x GMACs.
"""
import argparse
import os
import sys
import time

from core.preload import before_paddle, quiet_paddle

before_paddle()  # Paddle's import-time warnings ('No ccache found') hidden unless --verbose

import numpy as np  # noqa: E402
import paddle  # noqa: E402
import paddle.nn as nn  # noqa: E402

import models  # noqa: E402

CLIP = (16, 112, 112)
START, END = '<!-- model-table:start -->', '<!-- model-table:end -->'

ROWS = [
    dict(model='resnet', model_depth=10, resnet_shortcut='A'),
    dict(model='resnet', model_depth=18, resnet_shortcut='A'),
    dict(model='resnet', model_depth=18, resnet_shortcut='B'),
    dict(model='resnet', model_depth=34, resnet_shortcut='A'),
    dict(model='resnet', model_depth=34, resnet_shortcut='B'),
    dict(model='resnet', model_depth=50, resnet_shortcut='B'),
    dict(model='resnet', model_depth=101, resnet_shortcut='B'),
    dict(model='resnet', model_depth=152, resnet_shortcut='B'),
    dict(model='resnet', model_depth=200, resnet_shortcut='B'),
    dict(model='preresnet', model_depth=18, resnet_shortcut='B'),
    dict(model='preresnet', model_depth=50, resnet_shortcut='B'),
    dict(model='preresnet', model_depth=200, resnet_shortcut='B'),
    dict(model='wideresnet', model_depth=50, resnet_shortcut='B', wide_resnet_k=2),
    dict(model='resnext', model_depth=50, resnet_shortcut='B', resnext_cardinality=32),
    dict(model='resnext', model_depth=101, resnet_shortcut='B', resnext_cardinality=32),
    dict(model='resnext', model_depth=152, resnet_shortcut='B', resnext_cardinality=32),
    dict(model='densenet', model_depth=121),
    dict(model='densenet', model_depth=169),
    dict(model='densenet', model_depth=201),
    dict(model='densenet', model_depth=264),
    dict(model='resnet2p1d', model_depth=18, resnet_shortcut='B'),
    dict(model='resnet2p1d', model_depth=50, resnet_shortcut='B'),
]
# a family registered later gets a row at its first depth
ROWS += [dict(model=name, model_depth=family.depths[0]) for name, family in models.registry.FAMILIES.items()
         if name not in {row['model'] for row in ROWS}]
for depth in (18, 50):
    for kernel in models.KERNEL_TYPES[1:]:
        ROWS.append(dict(model='resnet', model_depth=depth, resnet_shortcut='B', kernel_type=kernel))
    ROWS.append(dict(model='resnet', model_depth=depth, resnet_shortcut='B', kernel_type='fast',
                     stem_kernel_type='3d'))
    ROWS.append(dict(model='resnet', model_depth=depth, resnet_shortcut='B', se=True))
    ROWS.append(dict(model='resnet', model_depth=depth, resnet_shortcut='B', kernel_type='(2+1)d',
                     se=True))


def build(opts):
    """generate_model, or (for ``stem_kernel_type``, a builder-only option) models.resnet."""
    if 'stem_kernel_type' not in opts:
        return models.generate_model(opts)
    from models import resnet
    o = models.resolve_model_options(opts)
    return resnet.generate_model(o['model_depth'], n_classes=o['n_classes'],
                                 shortcut_type=o['resnet_shortcut'], kernel_type=o['kernel_type'],
                                 se=o['se'], stem_kernel_type=opts['stem_kernel_type'])


def count_params(model):
    return sum(int(np.prod(p.shape)) for p in model.parameters() if not p.stop_gradient)


def count_macs(model, clip=CLIP):
    total = [0]

    def conv_hook(layer, inputs, output):
        w = layer.weight.shape  # [out, in/groups, kT, kH, kW]
        total[0] += int(np.prod(output.shape)) * int(np.prod(w[1:]))

    def linear_hook(layer, inputs, output):
        w = layer.weight.shape  # [in, out]
        total[0] += int(np.prod(output.shape[:-1])) * int(w[0]) * int(w[1])

    hooks = []
    for m in model.sublayers():
        if isinstance(m, nn.Conv3D):
            hooks.append(m.register_forward_post_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_post_hook(linear_hook))
    model.eval()
    with paddle.no_grad():
        model(paddle.zeros([1, 3] + list(clip), dtype='float32'))
    for h in hooks:
        h.remove()
    return total[0]


def label(o):
    name = '{}-{}'.format(o['model'], o['model_depth'])
    extras = []
    if o['model'] != 'densenet':
        extras.append(o.get('resnet_shortcut', 'B'))
    if o['model'] == 'wideresnet':
        extras.append('k={}'.format(o.get('wide_resnet_k', 2)))
    if o['model'] == 'resnext':
        extras.append('C={}'.format(o.get('resnext_cardinality', 32)))
    if o.get('kernel_type', '3d') != '3d':
        extras.append("kernel {}".format(o['kernel_type']))
    if o.get('stem_kernel_type'):
        extras.append('{} stem'.format(o['stem_kernel_type']))
    if o.get('se'):
        extras.append('SE')
    return name + (' (' + ', '.join(extras) + ')' if extras else '')


def flags(o):
    parts = ['--model {} --model_depth {}'.format(o['model'], o['model_depth'])]
    if o['model'] != 'densenet':
        parts.append('--resnet_shortcut {}'.format(o.get('resnet_shortcut', 'B')))
    if o.get('kernel_type', '3d') != '3d':
        parts.append("--kernel_type '{}'".format(o['kernel_type']))
    if o.get('se'):
        parts.append('--se')
    if o.get('stem_kernel_type'):
        return '`{}` + `stem_kernel_type={!r}` (Python API only)'.format(
            ' '.join(parts), o['stem_kernel_type'])
    return '`' + ' '.join(parts) + '`'


def main(argv=None):
    ap = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split('\n')[0])
    ap.add_argument('--update', default='', help='markdown file whose table (between the '
                                                 'model-table markers) is rewritten')
    ap.add_argument('--quick', action='store_true', help='parameters only, no forward pass')
    args = ap.parse_args(argv)
    quiet_paddle()  # Paddle re-enabled every warning while it imported
    lines = ['| model | flags | params (M) | GMACs @ 16x112x112 | GFLOPs (2 x MACs) |',
             '|---|---|---:|---:|---:|']
    for o in ROWS:
        t0 = time.time()
        opts = dict(o, n_classes=400)
        if args.quick:
            with paddle.LazyGuard():
                model = build(opts)
            macs = None
        else:
            paddle.seed(0)
            model = build(opts)
            macs = count_macs(model)
        n = count_params(model)
        lines.append('| {} | {} | {:.2f} | {} | {} |'.format(
            label(o), flags(o), n / 1e6,
            '-' if macs is None else '{:.2f}'.format(macs / 1e9),
            '-' if macs is None else '{:.2f}'.format(2 * macs / 1e9)))
        print(lines[-1], '  # {:.1f}s'.format(time.time() - t0), file=sys.stderr, flush=True)
        del model
    table = '\n'.join(lines)
    print(table)
    if args.update:
        with open(args.update) as f:
            text = f.read()
        if START not in text or END not in text:
            raise SystemExit('{} has no {} ... {} markers'.format(args.update, START, END))
        head, rest = text.split(START, 1)
        _, tail = rest.split(END, 1)
        with open(args.update, 'w') as f:
            f.write(head + START + '\n' + table + '\n' + END + tail)
        print('updated', args.update, file=sys.stderr)


if __name__ == '__main__':
    main()
