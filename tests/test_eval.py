"""test.py and the eval tools: video accuracy by averaged clip softmax, val.json, bad input (CPU, tiny shapes)."""
import csv
import json
import os
import shutil

import numpy as np
import paddle
import pytest
from PIL import Image

from engine import video_accuracy as ev
from tests.fixtures import make_frame_dataset, run, run_test_py, tiny_run_args, write_json
from utils import eval_hmdb51, eval_kinetics, eval_ucf101
N_FRAMES = 10  # 4-frame windows at frames 1, 5, 9: the last one (9, 10) is loop-padded




# ----------------------------------------------------------------------------------------------
# Pure functions
# ----------------------------------------------------------------------------------------------

def test_average_clip_scores_averages_softmax_not_logits():
    # video 0: one very confident clip for class 0, two moderate clips for class 1
    logits = np.array([[10.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 2.0, 0.0],
                       [0.0, 0.0, 1.0]])  # video 1: one clip
    video_index = np.array([0, 0, 0, 1])
    assert logits[:3].mean(axis=0).argmax() == 0  # averaging logits would say class 0

    scores, counts = ev.average_clip_scores(logits, video_index, n_videos=3)
    assert counts.tolist() == [3, 1, 0]
    soft = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(scores[0], soft[:3].mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(scores[1], soft[3], rtol=1e-12)
    assert scores[0].argmax() == 1  # the reference protocol: mean of probabilities -> class 1
    np.testing.assert_allclose(scores[0].sum(), 1.0)
    assert not scores[2].any()  # a video without clips has no scores

    raw, _ = ev.average_clip_scores(logits, video_index, n_videos=2, use_softmax=False)
    np.testing.assert_allclose(raw[0], logits[:3].mean(axis=0))  # --no_softmax_in_test
    assert raw[0].argmax() == 0


def test_accumulator_is_order_independent_across_batches():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((20, 5)) * 3
    video_index = rng.integers(0, 6, 20)
    expected, _ = ev.average_clip_scores(logits, video_index, 6)
    acc = ev.VideoScoreAccumulator(6, 5)
    order = rng.permutation(20)
    for chunk in np.array_split(order, 4):  # clips of different videos mixed in each batch
        acc.add(logits[chunk], video_index[chunk])
    got, counts = acc.video_scores()
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert counts.sum() == 20


def test_softmax_is_stable_for_large_logits():
    out = ev.softmax(np.array([[1000.0, 0.0], [-1000.0, -1000.0]]))
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, [[1.0, 0.0], [0.5, 0.5]])


def test_topk_order_and_ties():
    scores = np.array([[0.1, 0.4, 0.4, 0.1], [0.7, 0.1, 0.1, 0.1]])
    assert ev.topk_indices(scores, 2).tolist() == [[1, 2], [0, 1]]  # ties: lower index first
    assert ev.topk_indices(scores, 0).shape == (2, 4)  # <= 0: every class
    assert ev.topk_correct(scores, np.array([2, -1]), 2).tolist() == [True, False]


@pytest.fixture
def crafted_files(tmp_path):
    labels = ['a', 'b', 'c']
    database = {f'v{i}': {'subset': 'validation', 'annotations': {'label': labels[i % 3]}} for i in range(4)}
    database['t0'] = {'subset': 'training', 'annotations': {'label': 'a'}}
    gt = write_json(tmp_path / 'gt.json', {'labels': labels, 'database': database})
    # v0 (a): right; v1 (b): second; v2 (c): wrong; v3 (a): no prediction; x9: not in the ground truth
    results = {'v0': [{'label': 'a', 'score': 0.9}, {'label': 'b', 'score': 0.1}],
               'v1': [{'label': 'b', 'score': 0.2}, {'label': 'c', 'score': 0.8}],  # unsorted on purpose
               'v2': [{'label': 'a', 'score': 0.6}, {'label': 'b', 'score': 0.4}],
               'x9': [{'label': 'a', 'score': 1.0}]}
    pred = write_json(tmp_path / 'val.json', {'results': results})
    return gt, pred


def test_evaluate_counts_missing_videos_as_wrong(crafted_files, capsys):
    gt, pred = crafted_files
    assert eval_ucf101.evaluate_file(gt, pred, top_k=1) == pytest.approx(1 / 4)
    assert eval_ucf101.evaluate_file(gt, pred, top_k=2) == pytest.approx(2 / 4)
    assert eval_ucf101.evaluate_file(gt, pred, top_k=1, ignore=True) == pytest.approx(1 / 3)
    assert eval_hmdb51.evaluate_file(gt, pred, subset='val', top_k=2) == pytest.approx(2 / 4)
    out = capsys.readouterr().out
    assert '1 ground-truth videos have no prediction: counted as wrong' in out
    assert 'top-1 accuracy: 0.250000 (1/4)' in out


def test_eval_kinetics_matches_reference_result_keys(tmp_path):
    database = {'abc_000010_000020': {'subset': 'validation', 'annotations': {'label': 'x'}},
                'def_000000_000010': {'subset': 'validation', 'annotations': {'label': 'y'}}}
    gt = write_json(tmp_path / 'k.json', {'labels': ['x', 'y'], 'database': database})
    # the reference's test.py keys Kinetics results by youtube id; ours by the folder name
    pred = write_json(tmp_path / 'val.json', {'results': {
        'abc': [{'label': 'x', 'score': 0.9}], 'def_000000_000010': [{'label': 'y', 'score': 0.9}]}})
    assert eval_kinetics.evaluate_file(gt, pred) == 1.0
    assert eval_ucf101.evaluate_file(gt, pred) == 0.5  # without the Kinetics rule 'abc' is missing


def test_eval_cli_subprocess_and_errors(crafted_files, tmp_path):
    gt, pred = crafted_files
    proc = run('utils/eval_ucf101.py', gt, pred, '--subset', 'validation', '-k', '2', '--save')
    assert proc.returncode == 0, proc.stderr
    assert 'top-2 accuracy: 0.500000 (2/4)' in proc.stdout
    assert open(tmp_path / 'top2.txt').read() == '0.5'
    proc = run('utils/eval_ucf101.py', gt, tmp_path / 'nope.json')
    assert proc.returncode == 1
    assert proc.stderr.strip() == f'error: {tmp_path / "nope.json"}: prediction file not found'


def test_per_class_rows_and_confusion_png(tmp_path):
    labels = np.array([0, 0, 1, 1, 2, 2])
    predicted = np.array([0, 1, 1, 1, 0, -1])  # the last video has no prediction
    cm = ev.confusion_matrix(labels, predicted, 3)
    assert cm.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    rows = ev.per_class_rows(cm, ['a', 'b', 'c'], missing_per_class=[0, 0, 1])
    assert [r['top1'] for r in rows] == [0.5, 1.0, 0.0]
    assert rows[2]['videos'] == 2 and rows[2]['missing'] == 1
    assert rows[0]['most_confused_with'] == 'b'
    names = [f'Class{i:03d}Name' for i in range(101)]
    rng = np.random.default_rng(0)
    big = rng.integers(0, 5, (101, 101)) + np.eye(101, dtype=np.int64) * 20
    width, height = ev.draw_confusion_png(str(tmp_path / 'c.png'), big, names, 'title')
    with Image.open(tmp_path / 'c.png') as img:
        assert img.size == (width, height)
        assert width >= 101 * 12 and height >= 101 * 12  # at least 12 px per class: names are legible


# ----------------------------------------------------------------------------------------------
# test.py on a tiny dataset
# ----------------------------------------------------------------------------------------------

def build_tiny_model(args, seed=0):
    import models
    from opts import parse_opts
    opt = parse_opts(args)
    paddle.seed(seed)
    return models.generate_model(opt), opt


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    import models
    root = tmp_path_factory.mktemp('evaldata')
    make_frame_dataset(root, n_frames=N_FRAMES)
    args = tiny_run_args(root, root / 'unused')
    model, opt = build_tiny_model(args)
    checkpoint = {'epoch': 3, 'arch': opt.arch,
                  'model_opts': {n: getattr(opt, n) for n in models.MODEL_OPTION_NAMES},
                  'class_names': ['RedThings', 'GreenThings', 'BlueThings'],
                  'state_dict': model.state_dict(), 'optimizer': {}, 'scheduler': {}, 'best_acc': 0.5}
    path = root / 'save_3.pdparams'
    paddle.save(checkpoint, str(path))
    return {'root': root, 'ckpt': path, 'model': model, 'opt': opt}


def eval_args(tiny, result, *extra, checkpoint=None):
    """The flags a user gives test.py for a main.py checkpoint: data flags only (model flags come from it)."""
    return ['--root_path', str(tiny['root']), '--video_path', 'jpg', '--annotation_path', 'ucf101_01.json',
            '--result_path', str(result), '--dataset', 'ucf101', '--sample_size', '32', '--sample_duration', '4',
            '--batch_size', '5', '--n_threads', '0', '--no_tqdm', '--device', 'cpu',
            '--resume_path', str(checkpoint or tiny['ckpt']), *extra]


def printed(out, name):
    line = next(ln for ln in out.splitlines() if ln.startswith(name))
    return float(line.split(':')[1].split()[0])


def test_test_py_video_accuracy_reproduced_from_val_json(tiny, tmp_path, capsys):
    result = tmp_path / 'results_val'  # does not exist yet: test.py creates it
    metrics = run_test_py(eval_args(tiny, result))
    out = capsys.readouterr().out
    top1, top5 = printed(out, 'video top-1 accuracy'), printed(out, 'video top-5 accuracy')
    assert top1 == pytest.approx(metrics['video_top1'], abs=1e-6)
    assert metrics['n_clips'] == 6 * 3 and metrics['n_videos'] == 6 and metrics['n_missing'] == 0
    assert 'clip top-1 accuracy' in out and 0 <= metrics['clip_top1'] <= 1

    val_json = result / 'val.json'
    results = json.load(open(val_json))['results']
    ground_truth, _ = ev.load_ground_truth(str(tiny['root'] / 'ucf101_01.json'), 'validation')
    assert sorted(results) == sorted(v for v, _ in ground_truth)  # every video, including the last one
    assert all(len(v) == 3 for v in results.values())  # --output_topk 5, capped at the 3 classes
    gt_file = str(tiny['root'] / 'ucf101_01.json')
    assert eval_ucf101.evaluate_file(gt_file, str(val_json), top_k=1) == pytest.approx(top1, abs=1e-6)
    assert eval_ucf101.evaluate_file(gt_file, str(val_json), top_k=5) == pytest.approx(top5, abs=1e-6)

    rows = list(csv.DictReader(open(result / 'per_class.csv')))
    assert [r['class_name'] for r in rows] == ['RedThings', 'GreenThings', 'BlueThings']
    assert sum(int(r['correct_top1']) for r in rows) == round(top1 * 6)
    with Image.open(result / 'confusion.png') as img:
        assert img.size[0] > 100
    saved = json.load(open(result / 'val_metrics.json'))
    assert saved['video_top1'] == pytest.approx(top1, abs=1e-6)


def test_data_options_come_from_the_checkpoint(tiny, tmp_path):
    """A main.py checkpoint records clip size, length and normalisation; test.py uses them unless given."""
    checkpoint = paddle.load(str(tiny['ckpt']))
    checkpoint['data_opts'] = {'sample_size': 32, 'sample_duration': 4, 'sample_t_stride': 1,
                               'norm_value': 1, 'mean': tiny['opt'].mean, 'std': tiny['opt'].std}
    path = tmp_path / 'with_data_opts.pdparams'
    paddle.save(checkpoint, str(path))
    data_flags = ['--sample_size', '32', '--sample_duration', '4']
    base = [a for a in eval_args(tiny, tmp_path / 'r1', checkpoint=path) if a not in data_flags]
    from_checkpoint = run_test_py(base)
    explicit = run_test_py(eval_args(tiny, tmp_path / 'r2', checkpoint=path))
    assert from_checkpoint['sample_size'] == 32 and from_checkpoint['sample_duration'] == 4
    assert from_checkpoint['n_clips'] == explicit['n_clips'] == 6 * 3
    assert from_checkpoint['video_top1'] == explicit['video_top1']
    r1 = json.load(open(tmp_path / 'r1' / 'val.json'))['results']
    r2 = json.load(open(tmp_path / 'r2' / 'val.json'))['results']
    assert r1 == r2
    # a flag still wins over the checkpoint: 8-frame windows at frames 1 and 9
    longer = run_test_py(base[:-2] + ['--sample_duration', '8'] + base[-2:])
    assert longer['sample_duration'] == 8 and longer['n_clips'] == 6 * 2


def direct_video_scores(tiny, use_softmax=True):
    """Every test clip through the model one by one, averaged with average_clip_scores."""
    import datasets
    from opts import parse_opts
    opt = parse_opts(tiny_run_args(tiny['root'], tiny['root'] / 'unused'))
    test_set = datasets.get_test_set(opt)
    normalize = datasets.input_normalizer(opt)
    model = tiny['model']
    model.eval()
    logits, index = [], []
    with paddle.no_grad():
        for i in range(len(test_set)):
            clip, video_index = test_set[i]
            logits.append(model(normalize(paddle.to_tensor(clip[None]))).numpy()[0])
            index.append(int(video_index))
    scores, counts = ev.average_clip_scores(np.array(logits), np.array(index), len(test_set.video_ids), use_softmax)
    assert (counts == 3).all()  # three windows per 10-frame video, the last one loop-padded
    return dict(zip(test_set.video_ids, scores)), test_set.class_names


@pytest.mark.parametrize('no_softmax', [False, True])
def test_val_json_scores_are_clip_averages(tiny, tmp_path, no_softmax):
    extra = ['--no_softmax_in_test'] if no_softmax else []
    run_test_py(eval_args(tiny, tmp_path, *extra))
    expected, class_names = direct_video_scores(tiny, use_softmax=not no_softmax)
    results = json.load(open(tmp_path / 'val.json'))['results']
    for video_id, entries in results.items():
        want = expected[video_id]
        order = np.argsort(-want, kind='stable')
        assert [e['label'] for e in entries] == [class_names[c] for c in order]
        np.testing.assert_allclose([e['score'] for e in entries], want[order], rtol=1e-5, atol=1e-6)


def test_pretrain_path_evaluates_the_same_weights(tiny, tmp_path):
    args = eval_args(tiny, tmp_path / 'a')
    a = run_test_py(args)
    args_b = [x if x != '--resume_path' else '--pretrain_path' for x in eval_args(tiny, tmp_path / 'b')]
    b = run_test_py(args_b)  # the classifier is kept (reference issue #52)
    assert json.load(open(tmp_path / 'a' / 'val.json')) == json.load(open(tmp_path / 'b' / 'val.json'))
    assert a['video_top1'] == b['video_top1']


def test_seed_command_by_subprocess(tiny, tmp_path):
    # The README's form: relative paths under --root_path, model flags repeated, --checkpoint (an int) ignored.
    rel_ckpt = os.path.relpath(tiny['ckpt'], tiny['root'])
    proc = run('test.py', '--root_path', tiny['root'], '--video_path', 'jpg', '--annotation_path', 'ucf101_01.json',
               '--result_path', 'results_val', '--dataset', 'ucf101', '--n_classes', '3', '--pretrain_path', rel_ckpt,
               '--model', 'resnet', '--model_depth', '10', '--resnet_widen_factor', '0.125', '--sample_size', '32',
               '--sample_duration', '4', '--batch_size', '128', '--n_threads', '2', '--checkpoint', '5',
               '--device', 'cpu', cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'video top-1 accuracy' in proc.stdout
    assert (tiny['root'] / 'results_val' / 'val.json').is_file()
    shutil.rmtree(tiny['root'] / 'results_val')


def test_bare_and_converted_state_dicts(tiny, tmp_path):
    state_dict = tiny['model'].state_dict()
    bare = tmp_path / 'bare.pdparams'
    paddle.save(state_dict, str(bare))
    model_flags = ['--model', 'resnet', '--model_depth', '10', '--resnet_widen_factor', '0.125']
    # a bare state_dict carries no options: the flags describe the model (class count read from fc)
    m1 = run_test_py(eval_args(tiny, tmp_path / 'bare', *model_flags, checkpoint=bare))
    converted = tmp_path / 'converted.pdparams'
    paddle.save({'arch': 'resnet-10', 'state_dict': state_dict}, str(converted))
    m2 = run_test_py(eval_args(tiny, tmp_path / 'conv', '--resnet_widen_factor', '0.125', checkpoint=converted))
    m0 = run_test_py(eval_args(tiny, tmp_path / 'full'))
    assert m0['video_top1'] == m1['video_top1'] == m2['video_top1']
    assert json.load(open(tmp_path / 'bare' / 'val.json')) == json.load(open(tmp_path / 'full' / 'val.json'))


# ----------------------------------------------------------------------------------------------
# Bad input: one clear line, non-zero exit
# ----------------------------------------------------------------------------------------------

def expect_error(args, *fragments):
    with pytest.raises(SystemExit) as info:
        run_test_py(args)
    message = str(info.value.code)
    assert message.startswith('error: ') and '\n' not in message, message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_missing_and_truncated_checkpoints(tiny, tmp_path):
    expect_error(eval_args(tiny, tmp_path, checkpoint=tmp_path / 'nope.pdparams'), 'nope.pdparams', 'not found')
    truncated = tmp_path / 'truncated.pdparams'
    truncated.write_bytes(open(tiny['ckpt'], 'rb').read()[:2000])
    expect_error(eval_args(tiny, tmp_path, checkpoint=truncated), 'truncated.pdparams')
    args = [a for a in eval_args(tiny, tmp_path) if a != '--resume_path' and a != str(tiny['ckpt'])]
    expect_error(args, 'no checkpoint', '--resume_path')


def test_checkpoint_of_another_model_names_the_difference(tiny, tmp_path):
    expect_error(eval_args(tiny, tmp_path, '--model_depth', '18'), 'model_depth 18', 'checkpoint: 10')
    expect_error(eval_args(tiny, tmp_path, '--n_classes', '101'), 'n_classes 101', 'checkpoint: 3')
    expect_error(eval_args(tiny, tmp_path, '--model', 'preresnet', '--resnet_shortcut', 'A'),
                 '--model preresnet', '--resnet_shortcut A')
    converted = tmp_path / 'converted.pdparams'
    paddle.save({'arch': 'resnet-10', 'state_dict': tiny['model'].state_dict()}, str(converted))
    expect_error(eval_args(tiny, tmp_path, '--model_depth', '34', checkpoint=converted), 'model_depth 34')
    bare = tmp_path / 'bare.pdparams'
    paddle.save(tiny['model'].state_dict(), str(bare))  # no options stored: the weights do not fit resnet-18
    expect_error(eval_args(tiny, tmp_path, '--model_depth', '18', '--resnet_widen_factor', '0.125', checkpoint=bare),
                 'missing key', 'layer1.1')


def test_checkpoint_trained_on_other_classes(tiny, tmp_path):
    checkpoint = paddle.load(str(tiny['ckpt']))
    checkpoint['class_names'] = ['RedThings', 'BlueThings', 'GreenThings']
    other = tmp_path / 'other.pdparams'
    paddle.save(checkpoint, str(other))
    expect_error(eval_args(tiny, tmp_path, checkpoint=other), 'other class names', 'index 1')


@pytest.fixture
def broken_root(tiny, tmp_path):
    root = tmp_path / 'data'
    shutil.copytree(tiny['root'] / 'jpg', root / 'jpg')
    shutil.copy(tiny['root'] / 'ucf101_01.json', root / 'ucf101_01.json')
    shutil.rmtree(root / 'jpg' / 'GreenThings' / 'v_GreenThings_g02_c01')  # a validation video
    return root


def test_missing_video_folder(tiny, broken_root, tmp_path, capsys):
    args = eval_args(tiny, tmp_path / 'r')
    args[args.index('--root_path') + 1] = str(broken_root)
    expect_error(args, 'v_GreenThings_g02_c01', '--allow_missing')
    assert not (tmp_path / 'r' / 'val.json').exists()

    metrics = run_test_py(args + ['--allow_missing'])
    out = capsys.readouterr().out
    assert metrics['n_missing'] == 1 and metrics['missing_videos'] == ['v_GreenThings_g02_c01']
    assert '1 of 6 videos have no prediction and count as wrong' in out
    assert len(json.load(open(tmp_path / 'r' / 'val.json'))['results']) == 5
    # the missing video counts as wrong both here and in the eval tool
    acc = eval_ucf101.evaluate_file(str(broken_root / 'ucf101_01.json'), str(tmp_path / 'r' / 'val.json'))
    assert acc == pytest.approx(metrics['video_top1'], abs=1e-6)
    assert metrics['n_video_top1_correct'] <= 5
    rows = {r['class_name']: r for r in csv.DictReader(open(tmp_path / 'r' / 'per_class.csv'))}
    assert rows['GreenThings']['videos'] == '2' and rows['GreenThings']['missing'] == '1'


def test_video_folder_without_frames(tiny, broken_root, tmp_path):
    empty = broken_root / 'jpg' / 'GreenThings' / 'v_GreenThings_g02_c01'
    empty.mkdir()
    args = eval_args(tiny, tmp_path / 'r')
    args[args.index('--root_path') + 1] = str(broken_root)
    expect_error(args, 'v_GreenThings_g02_c01', 'no frames')


@pytest.mark.parametrize('n_threads', ['0', '2'])
def test_missing_frame_inside_a_video(tiny, broken_root, tmp_path, n_threads):
    # Paddle's DataLoader hangs (no workers) or hides the message (workers) when a clip fails to load
    (broken_root / 'jpg' / 'GreenThings' / 'v_GreenThings_g02_c01').mkdir()
    os.remove(broken_root / 'jpg' / 'RedThings' / 'v_RedThings_g01_c01' / 'image_00006.jpg')
    args = eval_args(tiny, tmp_path / 'r', '--allow_missing')  # not a missing video: still an error
    args[args.index('--root_path') + 1] = str(broken_root)
    args[args.index('--n_threads') + 1] = n_threads
    expect_error(args, 'missing frame', 'image_00006.jpg')


def test_bad_input_by_subprocess_has_no_traceback(tiny, tmp_path):
    proc = run('test.py', *eval_args(tiny, tmp_path, '--model_depth', '34'))
    assert proc.returncode == 1
    assert 'Traceback' not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith('error: ')
    assert 'model_depth 34 (checkpoint: 10)' in proc.stderr
