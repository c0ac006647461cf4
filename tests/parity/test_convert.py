"""utils/convert_torch_checkpoint.py: PyTorch reference checkpoints -> Paddle, proven on logits.

For every family the reference published, a PyTorch model with the reference's layer names and
shapes (benchmarks/parity/torch_reference_models.py, written from the architecture description) gets random BN
statistics and affine parameters, is saved as the old reference saved it (``module.`` keys,
``optimizer``, legacy serialization) and as the new one does (plain keys, ``scheduler``, zip), both
files are converted, and the Paddle model loaded from the output must give the same logits on a
16x112x112 clip (max |paddle - torch| / max |torch| < 1e-4, eval mode). Full-size models, batch 1.
The remaining depths and every published file name are checked for the name/shape mapping only.

PyTorch is optional for the repository: without it these tests are skipped, unless REQUIRE_TORCH=1
(set by scripts/test.sh, i.e. CI), in which case a missing torch is a failure.
"""
import collections
import contextlib
import os
import pickle

import numpy as np
import pytest

if os.environ.get('REQUIRE_TORCH', '') not in ('', '0'):
    import torch  # CI: a missing torch must fail, not skip
else:
    torch = pytest.importorskip('torch')

import paddle  # noqa: E402

import models  # noqa: E402
from benchmarks.parity import torch_reference_models as R  # noqa: E402
from utils import convert_torch_checkpoint as C  # noqa: E402
from engine.checkpoint import checkpoint_state_dict, load_checkpoint, load_weights  # noqa: E402
from tests.fixtures import REPO, run  # noqa: E402

SCRIPT = 'utils/convert_torch_checkpoint.py'
MAX_REL_ERR = 1e-4
MEASURED = {}   # family -> max relative error, printed at the end (pytest -s or the -ra summary)


# ----------------------------------------------------------------------------------------- helpers
@contextlib.contextmanager
def pytorch03_tensor_pickling():
    """Pickle tensors as PyTorch 0.3 did (``torch._utils._rebuild_tensor(storage, offset, size,
    stride)``), the era of the published CVPR2018 files."""
    original = torch.Tensor.__reduce_ex__

    def reduce_v1(self, proto):
        return (torch._utils._rebuild_tensor,
                (self._typed_storage(), self.storage_offset(), tuple(self.size()), self.stride()))

    torch.Tensor.__reduce_ex__ = reduce_v1
    try:
        yield
    finally:
        torch.Tensor.__reduce_ex__ = original


def optimizer_state(model):
    return torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, dampening=0.9, weight_decay=1e-3)


def save_old(model, path, arch, pytorch03=False):
    """Old reference (train.py): DataParallel keys, optimizer, no scheduler; PyTorch < 0.4.1 had no
    num_batches_tracked. Legacy (non-zip) serialization."""
    sd = collections.OrderedDict(('module.' + k, v) for k, v in model.state_dict().items()
                                 if not k.endswith('num_batches_tracked'))
    state = {'epoch': 201, 'arch': arch, 'state_dict': sd, 'optimizer': optimizer_state(model).state_dict()}
    with pytorch03_tensor_pickling() if pytorch03 else contextlib.nullcontext():
        torch.save(state, path, _use_new_zipfile_serialization=False)


def save_new(model, path, arch):
    """New reference (main.py save_checkpoint): plain keys, optimizer and scheduler; zip serialization."""
    opt = optimizer_state(model)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, [50, 100, 150])
    state = {'epoch': 200, 'arch': arch, 'state_dict': model.state_dict(), 'optimizer': opt.state_dict(),
             'scheduler': sched.state_dict()}
    torch.save(state, path)


def convert(src, dst, *flags):
    """The converter in-process (same code path as the script's main)."""
    args = C.build_parser().parse_args([str(src), str(dst)] + [str(f) for f in flags])
    return C.convert_file(str(src), str(dst), args, log=lambda *a: None)


def fails(capsys, *argv):
    """main(argv) must exit 1 with one 'error:' message (no traceback); returns the message."""
    with pytest.raises(SystemExit) as info:
        C.main([str(a) for a in argv])
    err = str(info.value.code)
    assert err.startswith('error: ') and 'Traceback' not in err, err
    return err


def paddle_logits(path, clip, lazy=False):
    """Load a converted file the way main.py/test.py --pretrain_path do and run one clip.

    ``lazy`` builds the model under paddle.LazyGuard, skipping the random init (seconds for the
    100M+ parameter models); load_weights is strict, so every tensor comes from the file either way."""
    ckpt = load_checkpoint(str(path))
    with paddle.LazyGuard() if lazy else contextlib.nullcontext():
        model = models.generate_model(ckpt['model_opts'])
    load_weights(model, checkpoint_state_dict(ckpt, str(path)), source=str(path))
    model.eval()
    with paddle.no_grad():
        return model(paddle.to_tensor(clip)).numpy()


def torch_logits(model, clip):
    with torch.no_grad():
        return model(torch.from_numpy(clip)).numpy()


def random_clip(seed):
    # [0, 255] frames minus the ActivityNet mean, as the pretrained models expect (std 1)
    return np.random.RandomState(seed).uniform(-115, 140, (1, 3, 16, 112, 112)).astype('float32')


def meta_shapes(model_name, depth, **kw):
    """Names and shapes of a reference model without allocating it."""
    with torch.device('meta'):
        m = R.build(model_name, depth, **kw)
    return collections.OrderedDict((k, tuple(v.shape)) for k, v in m.state_dict().items())


def lazy_target(**opts):
    return C.model_target(C.build_model(dict(opts), lazy=True))


# ----------------------------------------------------------------------------------------- full size, logits
FULL = [
    # id, model, depth, torch-builder kwargs, explicit flags for the old-format file
    ('resnet-18-A', 'resnet', 18, {'resnet_shortcut': 'A'}, ['--resnet_shortcut', 'A', '--n_classes', 400]),
    ('resnet-50-B', 'resnet', 50, {}, ['--resnet_shortcut', 'B']),
    ('preresnet-200', 'preresnet', 200, {}, ['--resnet_shortcut', 'B']),
    ('wideresnet-50', 'wideresnet', 50, {}, ['--resnet_shortcut', 'B', '--wide_resnet_k', 2]),
    ('resnext-101', 'resnext', 101, {}, ['--resnet_shortcut', 'B', '--resnext_cardinality', 32]),
    ('densenet-121', 'densenet', 121, {}, []),
    ('resnet2p1d-18', 'resnet2p1d', 18, {}, ['--resnet_shortcut', 'B', '--n_classes', 700]),
]


def _new_densenet_names(old_key):
    """Old DenseNet key -> new reference key (written from the description, independent of the converter)."""
    k = old_key.replace('features.conv0.', 'features.conv1.').replace('features.norm0.', 'features.norm1.')
    for a in ('norm', 'conv'):
        for i in ('1', '2'):
            k = k.replace(f'.{a}.{i}.', f'.{a}{i}.')
    return k


@pytest.mark.parametrize('case', FULL, ids=[c[0] for c in FULL])
def test_full_size_logits_match(case, tmp_path):
    name, model_name, depth, kw, flags = case
    n_classes = 700 if model_name == 'resnet2p1d' else 400
    torch.manual_seed(len(name))
    if model_name == 'densenet':     # published file: old names (norm.1, conv0); new layout: new names
        old_model = R.randomize_(R.build('densenet', depth, n_classes, densenet_old_names=True), seed=1).eval()
        new_model = R.build('densenet', depth, n_classes).eval()
        new_model.load_state_dict({_new_densenet_names(k): v for k, v in old_model.state_dict().items()})
    else:
        old_model = new_model = R.randomize_(R.build(model_name, depth, n_classes, **kw), seed=1).eval()
    arch = f'{model_name}-{depth}'
    save_old(old_model, tmp_path / 'old.pth', arch)
    save_new(new_model, tmp_path / 'new.pth', arch)

    if name == 'resnet-18-A':   # the real script, the command line of the issue
        r = run(SCRIPT, tmp_path / 'old.pth', tmp_path / 'old.pdparams', '--model', 'resnet', '--model_depth', 18,
                       '--resnet_shortcut', 'A', '--n_classes', 400)
        assert r.returncode == 0, r.stderr
        assert 'wrote' in r.stdout and '--resnet_shortcut A' in r.stdout
    else:
        convert(tmp_path / 'old.pth', tmp_path / 'old.pdparams', '--model', model_name, '--model_depth', depth, *flags)
    convert(tmp_path / 'new.pth', tmp_path / 'new.pdparams')     # everything read from the checkpoint

    old_ck, new_ck = load_checkpoint(str(tmp_path / 'old.pdparams')), load_checkpoint(str(tmp_path / 'new.pdparams'))
    assert old_ck['epoch'] == 0 and old_ck['arch'] == arch and new_ck['arch'] == arch
    assert old_ck['model_opts'] == new_ck['model_opts']
    assert set(old_ck['model_opts']) == set(models.MODEL_OPTION_NAMES)
    assert old_ck['model_opts']['n_classes'] == n_classes
    assert old_ck['converted_from']['layout'] == 'old' and new_ck['converted_from']['layout'] == 'new'
    a, b = old_ck['state_dict'], new_ck['state_dict']
    assert a.keys() == b.keys()
    assert all(np.array_equal(a[k], b[k]) for k in a)

    clip = random_clip(0)
    expected = torch_logits(old_model, clip)
    if model_name == 'densenet':
        np.testing.assert_array_equal(torch_logits(new_model, clip), expected)
    # the test is meaningful: the logits depend on the clip, not only on the fc bias
    other = torch_logits(old_model, random_clip(1))
    assert np.abs(other - expected).max() > 1e-3 * np.abs(expected).max()
    got = paddle_logits(tmp_path / 'old.pdparams', clip, lazy=name != 'resnet-18-A')
    assert got.shape == (1, n_classes)
    rel = float(np.abs(got - expected).max() / np.abs(expected).max())
    MEASURED[name] = rel
    print(f'{name}: max relative error {rel:.2e}')
    assert rel < MAX_REL_ERR, f'{name}: max relative error {rel:.3g}'


# ----------------------------------------------------------------------------------------- mapping only
MAPPING = [
    ('resnet', 10, {'resnet_shortcut': 'A'}), ('resnet', 10, {'resnet_shortcut': 'B'}),
    ('resnet', 18, {'resnet_shortcut': 'B'}), ('resnet', 34, {'resnet_shortcut': 'A'}),
    ('resnet', 34, {'resnet_shortcut': 'B'}), ('resnet', 101, {}), ('resnet', 152, {}), ('resnet', 200, {}),
    ('resnet', 50, {'n_classes': 1039}), ('preresnet', 18, {'resnet_shortcut': 'A'}), ('preresnet', 50, {}),
    ('resnext', 50, {}), ('resnext', 152, {}),
    ('densenet', 201, {'densenet_old_names': True}), ('densenet', 121, {'densenet_old_names': False}),
    ('densenet', 169, {'densenet_old_names': True}), ('densenet', 264, {'densenet_old_names': True}),
    ('resnet2p1d', 10, {}), ('resnet2p1d', 34, {}), ('resnet2p1d', 50, {}), ('resnet2p1d', 101, {}),
]


@pytest.mark.parametrize('model_name,depth,kw', MAPPING,
                         ids=[f'{m}-{d}-' + '-'.join(f'{v}' for v in kw.values()) for m, d, kw in MAPPING])
def test_mapping_covers_every_tensor(model_name, depth, kw):
    src = meta_shapes(model_name, depth, **kw)
    target_shapes, linear = lazy_target(model=model_name, model_depth=depth, n_classes=kw.get('n_classes', 400),
                                        resnet_shortcut=kw.get('resnet_shortcut', 'B'))
    plan = C.plan_conversion(src, target_shapes, linear)
    assert set(plan) == set(target_shapes)
    used = {s for s, _ in plan.values()}
    assert used == {k for k in src if not k.endswith('num_batches_tracked')}
    assert [t for t, (_, tr) in plan.items() if tr] == [('classifier' if model_name == 'densenet' else 'fc') + '.weight']


def test_every_published_file_maps_with_its_flags():
    """Each published name -> flags (docs/PRETRAINED.md) builds a model whose tensors match the reference."""
    for name, (flags, _) in C.PUBLISHED.items():
        args = C.build_parser().parse_args(['x', 'y'] + flags.split())
        kw = {k: getattr(args, k) for k in ('resnet_shortcut', 'wide_resnet_k', 'resnext_cardinality')
              if getattr(args, k) is not None}
        src = meta_shapes(args.model, args.model_depth, n_classes=args.n_classes,
                          densenet_old_names=name.startswith('densenet'), **kw)
        opts = {k: getattr(args, k) for k in models.MODEL_OPTION_NAMES if getattr(args, k) is not None}
        plan = C.plan_conversion(src, *lazy_target(**opts), source=name)
        assert len(plan) == len([k for k in src if not k.endswith('num_batches_tracked')]), name


def test_docs_table_lists_every_published_file():
    text = open(os.path.join(REPO, 'docs', 'PRETRAINED.md')).read()
    for name, (flags, _) in C.PUBLISHED.items():
        row = next((line for line in text.splitlines() if f'`{name}`' in line), None)
        assert row is not None, f'{name} missing from docs/PRETRAINED.md'
        assert flags in row, f'{name}: docs row {row!r} lacks {flags!r}'


def test_rename_rules():
    assert C.rename_key('bn1.running_mean') == 'bn1._mean'
    assert C.rename_key('layer1.0.bn2.running_var') == 'layer1.0.bn2._variance'
    assert C.rename_key('layer1.0.bn2.num_batches_tracked') is None
    assert C.rename_key('features.denseblock1.denselayer3.norm.1.weight') == 'features.denseblock1.denselayer3.norm1.weight'
    assert C.rename_key('features.denseblock4.denselayer16.conv.2.weight') == 'features.denseblock4.denselayer16.conv2.weight'
    assert C.rename_key('features.transition1.norm.running_mean') == 'features.transition1.norm._mean'


# ----------------------------------------------------------------------------------------- layouts
@pytest.fixture(scope='module')
def resnet10(tmp_path_factory):
    """A ResNet-10-A reference model and its files: old (legacy), old saved as PyTorch 0.3 did, bare."""
    d = tmp_path_factory.mktemp('r10')
    torch.manual_seed(10)
    m = R.randomize_(R.build('resnet', 10, resnet_shortcut='A'), seed=2).eval()
    save_old(m, d / 'old.pth', 'resnet-10')
    save_old(m, d / 'old03.pth', 'resnet-10', pytorch03=True)
    torch.save(m.state_dict(), d / 'bare.pth')
    return m, d


def test_pytorch03_and_bare_files_convert_identically(resnet10, tmp_path):
    _, d = resnet10
    assert b'_rebuild_tensor_v2' not in (d / 'old03.pth').read_bytes()    # really the 0.3 tensor pickling
    out = {}
    for name in ('old', 'old03', 'bare'):
        extra = ['--model', 'resnet', '--model_depth', 10] if name == 'bare' else []
        out[name] = convert(d / f'{name}.pth', tmp_path / f'{name}.pdparams', *extra)
    assert out['bare']['converted_from']['layout'] == 'bare'
    for name in ('old03', 'bare'):
        assert out[name]['state_dict'].keys() == out['old']['state_dict'].keys()
        assert all(np.array_equal(out[name]['state_dict'][k], v) for k, v in out['old']['state_dict'].items())
    assert out['bare']['model_opts']['resnet_shortcut'] == 'A'     # inferred: no downsample weights


def test_verify_flag_loads_into_a_real_model(resnet10, tmp_path):
    _, d = resnet10
    state = convert(d / 'old.pth', tmp_path / 'v.pdparams', '--verify')
    assert state['arch'] == 'resnet-10'


def test_output_loads_with_main_and_test_pretrain_path(resnet10, tmp_path):
    """The fine-tuning recipe of docs/PRETRAINED.md: main.py keeps every weight but the classifier;
    test.py --pretrain_path evaluates the converted model as it is."""
    from engine import evaluation, training
    from opts import parse_main, parse_test
    _, d = resnet10
    dst = tmp_path / 'r10.pdparams'
    state = convert(d / 'old.pth', dst)
    config, _ = parse_main(['--model', 'resnet', '--model_depth', '10', '--resnet_shortcut', 'A',
                            '--pretrain_path', str(dst), '--n_pretrain_classes', '400', '--n_classes', '101',
                            '--ft_begin_index', '4', '--learning_rate', '0.001', '--weight_decay', '1e-5',
                            '--mean_dataset', 'activitynet', '--norm_value', '1'])
    assert np.allclose(config.data.mean, [114.7748, 107.7354, 99.4750]) and config.data.std == [1.0, 1.0, 1.0]
    checkpoint, config = training.pretrained_checkpoint(config)
    model = training.build_model(config.model)
    training.load_pretrained(model, checkpoint, str(dst), config.model, config.train.n_pretrain_classes)
    loaded = model.state_dict()
    assert tuple(loaded['fc.weight'].shape) == (512, 101)
    for k, v in state['state_dict'].items():
        if not k.startswith('fc.'):
            np.testing.assert_array_equal(loaded[k].numpy(), v, err_msg=k)

    config, _ = parse_test(['--pretrain_path', str(dst)])          # model flags come from the checkpoint
    model, config, taken = evaluation.build_model(config, load_checkpoint(str(dst)), str(dst))
    assert config.model.model_depth == 10 and config.model.resnet_shortcut == 'A' and config.model.n_classes == 400
    np.testing.assert_array_equal(model.state_dict()['fc.weight'].numpy(), state['state_dict']['fc.weight'])


# ----------------------------------------------------------------------------------------- bad input
def test_other_depth_is_one_clear_error(resnet10, capsys, tmp_path):
    _, d = resnet10
    dst = tmp_path / 'x.pdparams'
    err = fails(capsys, d / 'bare.pth', dst, '--model', 'resnet', '--model_depth', 18, '--resnet_shortcut', 'A')
    assert 'not in the checkpoint' in err and 'layer1.1.conv1.weight' in err
    assert 'checkpoint [1, 1, 1, 1], flags [2, 2, 2, 2]' in err
    # a checkpoint with an arch: the flags contradict it
    err = fails(capsys, d / 'old.pth', dst, '--model_depth', 18)
    assert "arch is 'resnet-10'" in err and '--model_depth 18' in err
    assert not dst.exists()


def test_other_shortcut_is_one_clear_error(resnet10, capsys, tmp_path):
    _, d = resnet10
    err = fails(capsys, d / 'old.pth', tmp_path / 'x.pdparams', '--resnet_shortcut', 'B')
    assert 'layer2.0.downsample.0.weight' in err and '--resnet_shortcut A' in err


def test_shortcut_B_checkpoint_into_A_model():
    src = meta_shapes('resnet', 50)
    with pytest.raises(C.ConversionError) as e:
        C.plan_conversion(src, *lazy_target(model='resnet', model_depth=50, resnet_shortcut='A'))
    assert 'downsample' in str(e.value) and '--resnet_shortcut B' in str(e.value)


def test_other_class_count_is_one_clear_error(resnet10, capsys, tmp_path):
    _, d = resnet10
    err = fails(capsys, d / 'old.pth', tmp_path / 'x.pdparams', '--n_classes', 101)
    assert 'fc.weight [400, 512] vs model [101, 512]' in err and 'fc.bias' in err
    assert '--n_classes 400' in err


def test_other_family_is_one_clear_error(resnet10, capsys, tmp_path):
    _, d = resnet10
    err = fails(capsys, d / 'bare.pth', tmp_path / 'x.pdparams', '--model', 'preresnet', '--model_depth', 18)
    assert 'does not fit the model' in err


def test_truncated_files_are_one_clear_error(resnet10, capsys, tmp_path):
    m, d = resnet10
    save_new(m, tmp_path / 'new.pth', 'resnet-10')
    for name, src in (('legacy', d / 'old.pth'), ('zip', tmp_path / 'new.pth')):
        data = src.read_bytes()
        cut = tmp_path / f'cut_{name}.pth'
        cut.write_bytes(data[:len(data) // 2])
        err = fails(capsys, cut, tmp_path / 'x.pdparams')
        assert 'truncated' in err, err
    (tmp_path / 'empty.pth').write_bytes(b'')
    assert 'empty' in fails(capsys, tmp_path / 'empty.pth', tmp_path / 'x.pdparams')
    assert 'not found' in fails(capsys, tmp_path / 'missing.pth', tmp_path / 'x.pdparams')
    # and through the real script: exit code 1, one line on stderr, no traceback
    r = run(SCRIPT, tmp_path / 'cut_zip.pth', tmp_path / 'x.pdparams')
    assert r.returncode == 1 and r.stderr.startswith('error: ') and 'Traceback' not in r.stderr, r.stderr
    assert not (tmp_path / 'x.pdparams').exists()


class NotACheckpoint:
    def __init__(self):
        self.weights = [1, 2, 3]


def test_non_checkpoint_pickles_are_one_clear_error(capsys, tmp_path):
    dst = tmp_path / 'x.pdparams'
    with open(tmp_path / 'list.pkl', 'wb') as f:
        pickle.dump([1, 2, 3], f)
    assert 'not a .pth file' in fails(capsys, tmp_path / 'list.pkl', dst)
    torch.save([1, 2, 3], tmp_path / 'list.pth')
    assert 'holds a list' in fails(capsys, tmp_path / 'list.pth', dst)
    torch.save({'epoch': 3, 'arch': 'resnet-18'}, tmp_path / 'meta.pth')
    assert 'not a checkpoint' in fails(capsys, tmp_path / 'meta.pth', dst)
    torch.save({'state_dict': {'a': 1}}, tmp_path / 'ints.pth')
    assert 'not tensors' in fails(capsys, tmp_path / 'ints.pth', dst)
    torch.save(NotACheckpoint(), tmp_path / 'obj.pth')
    err = fails(capsys, tmp_path / 'obj.pth', dst)
    assert 'NotACheckpoint' in err and '--trust_pickle' in err
    assert 'holds a NotACheckpoint' in fails(capsys, tmp_path / 'obj.pth', dst, '--trust_pickle')
    (tmp_path / 'notes.pth').write_text('these are not weights\n')
    assert 'not a .pth file' in fails(capsys, tmp_path / 'notes.pth', dst)
    mixed = {'module.conv1.weight': torch.zeros(1), 'bn1.weight': torch.zeros(1)}
    torch.save(mixed, tmp_path / 'mixed.pth')
    assert "only some keys carry" in fails(capsys, tmp_path / 'mixed.pth', dst, '--model', 'resnet', '--model_depth', 18)
    assert not dst.exists()


def test_missing_torch_gives_install_instructions(tmp_path):
    fake = tmp_path / 'fake' / 'torch'
    fake.mkdir(parents=True)
    (fake / '__init__.py').write_text("raise ImportError('No module named torch (hidden by the test)')\n")
    (tmp_path / 'a.pth').write_bytes(b'PK\x03\x04 not really')
    env = dict(os.environ, PYTHONPATH=str(tmp_path / 'fake'))
    r = run(SCRIPT, tmp_path / 'a.pth', tmp_path / 'a.pdparams', env=env)
    assert r.returncode == 1, r.stderr
    assert 'needs PyTorch' in r.stderr and 'requirements-convert.txt' in r.stderr and 'Traceback' not in r.stderr


def test_list_prints_the_published_table(capsys):
    assert C.main(['--list']) == 0
    out = capsys.readouterr().out
    assert 'resnet-18-kinetics.pth' in out and '--resnet_shortcut A' in out and 'r2p1d50_KM_200ep.pth' in out


def teardown_module(module):
    if MEASURED:
        print('\nmax relative error per family: ' + ', '.join(f'{k} {v:.1e}' for k, v in MEASURED.items()))
