"""scripts/predict.py (raw video -> top-5) and scripts/export_model.py (static model + paddle.inference)."""
import json
import os

import numpy as np
import paddle
import pytest

from scripts import export_model, predict
from tests.fixtures import run, run_test_py, tiny_run_args, write_video

CLASSES = ['RedThings', 'GreenThings', 'BlueThings']
SIZE_ARGS = ['--sample_size', '32', '--sample_duration', '4']


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    import models
    from opts import parse_opts
    root = tmp_path_factory.mktemp('predict')
    opt = parse_opts(tiny_run_args(root, root / 'unused'))
    paddle.seed(1)
    model = models.generate_model(opt)
    model.eval()
    checkpoint = {'epoch': 1, 'arch': opt.arch, 'model_opts': {n: getattr(opt, n) for n in models.MODEL_OPTION_NAMES},
                  'class_names': CLASSES, 'state_dict': model.state_dict()}
    ckpt = root / 'save_1.pdparams'
    paddle.save(checkpoint, str(ckpt))
    video = write_video(root / 'v_Test_g01_c01.avi', n_frames=11, width=80, height=60, pattern='edge')
    return {'root': root, 'ckpt': str(ckpt), 'model': model, 'video': video}


@pytest.mark.parametrize('span', [1, 2, 4, 16])
def test_streaming_windows_equal_test_windows(span):
    from datasets.temporal_transforms import sliding_windows
    for n in range(1, 40):
        for stride in sorted({1, 3, span, span + 2}):
            frames = [f'frame{i}' for i in range(1, n + 1)]
            got = [(w, [buf[i] for i in w]) for w, buf in predict.iter_windows(iter(frames), span, stride)]
            want = sliding_windows(list(range(1, n + 1)), span, stride)
            assert [w for w, _ in got] == want, (n, span, stride)
            assert all(f == [f'frame{i}' for i in w] for w, f in got)


def test_scaled_size_is_ffmpeg_scale_minus1_240():
    assert predict.scaled_size(320, 240) == (320, 240)
    assert predict.scaled_size(640, 480) == (320, 240)
    assert predict.scaled_size(400, 226) == (425, 240)


def test_predict_prints_top_labels(tiny, capsys):
    top = predict.main([tiny['video'], '--checkpoint', tiny['ckpt'], *SIZE_ARGS])
    out = capsys.readouterr().out
    assert len(top) == 3 and sorted(label for label, _ in top) == sorted(CLASSES)  # top-5 capped at 3 classes
    assert sum(score for _, score in top) == pytest.approx(1.0, abs=1e-5)
    assert [s for _, s in top] == sorted((s for _, s in top), reverse=True)
    assert '11 frames, 3 clips of 4 frames' in out
    assert f'1. {top[0][0]}' in out


def test_predict_equals_test_py_on_the_same_frames(tiny, tmp_path):
    """predict.py on the video == test.py on its frames (stored losslessly under image_%05d.jpg names)."""
    folder = tmp_path / 'jpg' / 'RedThings' / 'v_Test_g01_c01'
    folder.mkdir(parents=True)
    for i, frame in enumerate(predict.iter_frames(tiny['video']), 1):
        assert frame.size == (320, 240)  # scaled like the jpg step
        frame.save(folder / f'image_{i:05d}.jpg', format='PNG')  # PIL reads by content: no JPEG loss
    annotation = {'labels': CLASSES, 'database': {'v_Test_g01_c01': {
        'subset': 'validation', 'annotations': {'label': 'RedThings'}}}}
    with open(tmp_path / 'ann.json', 'w') as f:
        json.dump(annotation, f)
    run_test_py(['--root_path', str(tmp_path), '--video_path', 'jpg', '--annotation_path', 'ann.json',
                  '--result_path', 'res', '--dataset', 'ucf101', '--resume_path', tiny['ckpt'], *SIZE_ARGS,
                  '--n_threads', '0', '--no_tqdm', '--device', 'cpu'])
    entries = json.load(open(tmp_path / 'res' / 'val.json'))['results']['v_Test_g01_c01']
    from_test = {e['label']: e['score'] for e in entries}
    from_predict = dict(predict.main([tiny['video'], '--checkpoint', tiny['ckpt'], *SIZE_ARGS]))
    assert from_predict.keys() == from_test.keys()
    for label in from_test:
        assert from_predict[label] == pytest.approx(from_test[label], abs=1e-6)


def test_export_and_inference_match_dynamic_model(tiny, tmp_path, capsys):
    out_dir = tmp_path / 'export'
    files = export_model.main(['--checkpoint', tiny['ckpt'], '--output', str(out_dir), *SIZE_ARGS])
    printed = capsys.readouterr().out
    assert 'paddle.inference matches the dynamic model' in printed
    model_file, params_file = files
    assert model_file.endswith('.json' if paddle.__version__.startswith('3') else '.pdmodel')
    assert os.path.isfile(params_file) and params_file.endswith('.pdiparams')
    info = json.load(open(out_dir / 'model_info.json'))
    assert info['class_names'] == CLASSES and info['sample_size'] == 32 and info['arch'] == 'resnet-10'

    rng = np.random.default_rng(3)
    clips = (rng.standard_normal((3, 3, 4, 32, 32)) * 60).astype(np.float32)
    dynamic = predict.DynamicModel(tiny['model'])(clips)
    static = predict.InferenceModel(str(out_dir))(clips)
    assert static.shape == (3, 3)
    np.testing.assert_allclose(static, dynamic, rtol=0, atol=1e-4)
    one = predict.InferenceModel(str(out_dir))(clips[:1])  # the batch dimension is free
    np.testing.assert_allclose(one, dynamic[:1], rtol=0, atol=1e-4)

    # predict.py through paddle.inference: preprocessing and class names from model_info.json
    via_inference = predict.main([tiny['video'], '--inference_model', str(out_dir)])
    via_checkpoint = predict.main([tiny['video'], '--checkpoint', tiny['ckpt'], *SIZE_ARGS])
    assert [label for label, _ in via_inference] == [label for label, _ in via_checkpoint]
    np.testing.assert_allclose([s for _, s in via_inference], [s for _, s in via_checkpoint], atol=1e-4)


def expect_error(main, args, *fragments):
    with pytest.raises(SystemExit) as info:
        main(args)
    message = str(info.value.code)
    assert message.startswith('error: ') and '\n' not in message, message
    for fragment in fragments:
        assert fragment in message, message


def test_predict_bad_input(tiny, tmp_path):
    garbage = tmp_path / 'broken.avi'
    garbage.write_bytes(b'this is not a video' * 100)
    expect_error(predict.main, [str(garbage), '--checkpoint', tiny['ckpt'], *SIZE_ARGS], 'broken.avi',
                 'cannot read video')
    expect_error(predict.main, [str(tmp_path / 'nope.mp4'), '--checkpoint', tiny['ckpt'], *SIZE_ARGS],
                 'nope.mp4', 'not found')
    expect_error(predict.main, [tiny['video'], '--checkpoint', str(tmp_path / 'nope.pdparams')], 'nope.pdparams')
    expect_error(predict.main, [tiny['video'], '--checkpoint', tiny['ckpt'], '--model_depth', '18'],
                 'model_depth 18 (checkpoint: 10)')
    expect_error(predict.main, [tiny['video'], '--inference_model', str(tmp_path / 'none')], 'export_model.py')
    other = tmp_path / 'labels.json'
    other.write_text(json.dumps({'labels': ['a', 'b'], 'database': {}}))
    expect_error(predict.main, [tiny['video'], '--checkpoint', tiny['ckpt'], *SIZE_ARGS, '--annotation_path',
                                str(other)], '3 classes', '2 class names')
    bare = tmp_path / 'bare.pdparams'
    paddle.save(tiny['model'].state_dict(), str(bare))
    expect_error(predict.main, [tiny['video'], '--checkpoint', str(bare), '--resnet_widen_factor', '0.125',
                                '--model_depth', '10', *SIZE_ARGS], 'no class names', '--annotation_path')


def test_export_bad_input(tiny, tmp_path):
    expect_error(export_model.main, ['--checkpoint', str(tmp_path / 'x.pdparams'), '--output', str(tmp_path / 'o')],
                 'x.pdparams', 'not found')
    expect_error(export_model.main, ['--checkpoint', tiny['ckpt'], '--output', str(tmp_path / 'o'), '--n_classes',
                                     '101'], 'n_classes 101 (checkpoint: 3)')


def test_unreadable_video_by_subprocess(tiny, tmp_path):
    garbage = tmp_path / 'broken.mp4'
    # fixed bytes: random ones are now and then read as a container without a video stream
    garbage.write_bytes(b'this is not a video file\n' * 170)
    proc = run('scripts/predict.py', garbage, '--checkpoint', tiny['ckpt'], *SIZE_ARGS)
    assert proc.returncode == 1
    assert 'Traceback' not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(f'error: {garbage}: cannot read video')
