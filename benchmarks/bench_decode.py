"""Per-frame cost and pixel difference of the JPEG decoders and resizers a clip loader could use, against
the reference pipeline (Pillow: open -> convert('RGB') -> crop -> resize(BILINEAR)).

    python -m benchmarks.bench_decode                 # generated textured frames + the demo dataset's frames
    python -m benchmarks.bench_decode --repeat 5 --json decode.json

Frames: textured 320x240 JPEGs (datasets/synthetic.py's generator, quality 75 and 90, Pillow's 4:2:0)
and frames of the demo dataset (scripts/make_demo_dataset.py -> AVI -> utils/video_jpg_ucf101_hmdb51.py,
FFmpeg's mjpeg), all 320x240. Every frame is cut with each of the training crop's five scales (corner
crop side 240..119) and the validation crop, resized to --sample_size.

Reported per candidate: CPU milliseconds per frame (best of --repeat passes over all frames, one process) and
the pixel difference to the reference: mean |diff| (in 1/255), largest |diff|, and whether every pixel is
equal. Optional libraries (simplejpeg, OpenCV) are measured when importable.
"""
import argparse
import io
import json
import os
import sys
import tempfile
import time

import numpy as np
from PIL import Image


from datasets.spatial_transforms import BILINEAR, CenterCrop, Compose, MultiScaleCornerCrop, Scale
from datasets import default_scales

try:
    import simplejpeg
except ImportError:
    simplejpeg = None
try:
    import cv2
except ImportError:
    cv2 = None


def textured_jpegs(n, quality, seed=0):
    from datasets.synthetic import textured_frames
    frames = textured_frames(np.random.default_rng(seed), n)
    out = []
    for frame in frames:
        buf = io.BytesIO()
        Image.fromarray(frame).save(buf, 'JPEG', quality=quality)
        out.append(buf.getvalue())
    return out


def demo_jpegs(n):
    """JPEG bytes of frames the project's own extraction writes from demo videos (one per class)."""
    from datasets.synthetic import encode_avi, motion_frames
    from utils.video_jpg_ucf101_hmdb51 import convert_video_pyav
    out = []
    classes = ['MoveUp', 'ZoomIn', 'Flash']
    with tempfile.TemporaryDirectory() as tmp:
        for c, name in enumerate(classes):
            frames = motion_frames(name, np.random.default_rng(c), n // len(classes) + 1, 320, 240)
            avi = os.path.join(tmp, name + '.avi')
            encode_avi(avi, frames)
            folder = os.path.join(tmp, name)
            os.makedirs(folder)
            convert_video_pyav(avi, folder)
            for file in sorted(os.listdir(folder))[:n // len(classes)]:
                with open(os.path.join(folder, file), 'rb') as f:
                    out.append(f.read())
    return out


def transforms(size):
    """(name, transform with geometry) of the crops a loader meets: the five training scales, top-left
    corner, and the validation crop."""
    out = []
    for scale in default_scales():
        crop = MultiScaleCornerCrop([scale], size, crop_positions=['tl'])
        out.append(('train %.2f' % scale, Compose([crop])))
    out.append(('val', Compose([Scale(size), CenterCrop(size)])))
    return out


def crop_and_box(transform, width, height):
    """(integer crop box, resize box within the crop, output size) of ``transform`` on a frame."""
    from datasets.fast_clips import outward_box
    from datasets.spatial_transforms import ClipGeometry
    g = transform.geometry(ClipGeometry.whole(width, height))
    domain = outward_box(g.domain, width, height)
    x0, y0, x1, y1 = g.box
    return domain, (x0 - domain[0], y0 - domain[1], x1 - domain[0], y1 - domain[1]), g.size


# --------------------------------------------------------------------------------------------------
# decoders: JPEG bytes -> H x W x 3 uint8


def pil_decode(data):
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert('RGB'))


def decoders():
    out = [('pillow', pil_decode)]
    if simplejpeg is not None:
        out.append(('simplejpeg', lambda data: simplejpeg.decode_jpeg(data, 'RGB')))
        out.append(('simplejpeg fastdct+fastupsample',
                    lambda data: simplejpeg.decode_jpeg(data, 'RGB', fastdct=True, fastupsample=True)))
    if cv2 is not None:
        out.append(('opencv imdecode', lambda data: cv2.imdecode(np.frombuffer(data, np.uint8),
                                                                 cv2.IMREAD_COLOR_RGB)))
    return out


# --------------------------------------------------------------------------------------------------
# resizers: decoded H x W x 3 uint8 + transform -> output uint8


def pil_resize(pixels, domain, box, size):
    img = Image.fromarray(pixels)
    return np.asarray(img.crop(domain).resize(size, BILINEAR, box=box))


def pil_reduce_resize(pixels, domain, box, size):
    """Pillow's resize with reducing_gap: an integer box-filter reduction first, then the bilinear."""
    img = Image.fromarray(pixels)
    return np.asarray(img.crop(domain).resize(size, BILINEAR, box=box, reducing_gap=1.0))


def cv2_resize(interpolation):
    def resize(pixels, domain, box, size):
        x0, y0, x1, y1 = domain
        crop = pixels[y0:y1, x0:x1]
        bx0, by0, bx1, by1 = box
        crop = crop[int(round(by0)):int(round(by1)), int(round(bx0)):int(round(bx1))]
        return cv2.resize(crop, size, interpolation=interpolation)
    return resize


def resizers():
    out = [('pillow crop+resize', pil_resize), ('pillow reducing_gap=1', pil_reduce_resize)]
    if cv2 is not None:
        out += [('opencv INTER_LINEAR', cv2_resize(cv2.INTER_LINEAR)),
                ('opencv INTER_AREA', cv2_resize(cv2.INTER_AREA))]
    return out


def best_ms(fn, items, repeat):
    # CPU time of this process: on a shared machine wall time also counts the other processes' turns
    best = float('inf')
    for _ in range(repeat):
        start = time.process_time()
        for item in items:
            fn(item)
        best = min(best, time.process_time() - start)
    return 1000 * best / len(items)


def difference(outputs, references):
    diffs = [np.abs(o.astype(np.int16) - r.astype(np.int16)) for o, r in zip(outputs, references)]
    return {'mean_abs_255': float(np.mean([d.mean() for d in diffs])),
            'max_abs': int(max(d.max() for d in diffs)),
            'equal': all(not d.any() for d in diffs)}


def measure(frames, size, repeat):
    reference_pixels = [pil_decode(data) for data in frames]
    rows = []
    for name, decode in decoders():
        decoded = [decode(data) for data in frames]
        row = {'stage': 'decode', 'candidate': name, 'ms_per_frame': best_ms(decode, frames, repeat)}
        row.update(difference(decoded, reference_pixels))
        rows.append(row)
    height, width = reference_pixels[0].shape[:2]
    for name, resize in resizers():
        per_crop = []
        for crop_name, transform in transforms(size):
            domain, box, out_size = crop_and_box(transform, width, height)
            reference = [np.asarray(transform(Image.fromarray(p))) for p in reference_pixels]
            outputs = [resize(p, domain, box, out_size) for p in reference_pixels]
            ms = best_ms(lambda p: resize(p, domain, box, out_size), reference_pixels, repeat)
            per_crop.append(dict(difference(outputs, reference), crop=crop_name, ms_per_frame=ms))
        rows.append({'stage': 'crop+resize', 'candidate': name,
                     'ms_per_frame': float(np.mean([c['ms_per_frame'] for c in per_crop])),
                     'mean_abs_255': float(np.mean([c['mean_abs_255'] for c in per_crop])),
                     'max_abs': max(c['max_abs'] for c in per_crop),
                     'equal': all(c['equal'] for c in per_crop), 'crops': per_crop})
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split('\n')[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--n_frames', type=int, default=48, help='frames per set')
    p.add_argument('--sample_size', type=int, default=112)
    p.add_argument('--repeat', type=int, default=5, help='timed passes; the fastest counts')
    p.add_argument('--json', default=None, metavar='PATH')
    args = p.parse_args(argv)
    sets = [('textured q75', textured_jpegs(args.n_frames, 75)),
            ('textured q90', textured_jpegs(args.n_frames, 90)),
            ('demo (ffmpeg mjpeg)', demo_jpegs(args.n_frames))]
    print('libraries: Pillow %s, simplejpeg %s, OpenCV %s' % (
        Image.__version__, getattr(simplejpeg, '__version__', 'absent'), getattr(cv2, '__version__', 'absent')))
    report = {}
    for set_name, frames in sets:
        rows = measure(frames, args.sample_size, args.repeat)
        report[set_name] = rows
        print('\n%s: %d frames 320x240, output %dx%d' % (set_name, len(frames), args.sample_size, args.sample_size))
        print('| stage       | candidate                        | ms/frame | mean abs diff /255 | max | equal |')
        print('|-------------|----------------------------------|----------|--------------------|-----|-------|')
        for r in rows:
            print('| %-12s| %-33s| %8.3f | %18.3f | %3d | %-5s |' % (
                r['stage'], r['candidate'], r['ms_per_frame'], r['mean_abs_255'], r['max_abs'], r['equal']))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(report, f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
