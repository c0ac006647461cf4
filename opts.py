"""Command-line options of main.py and test.py (and the options scripts/predict.py passes on).

Names and defaults follow the CVPR2018 reference (kenshohara/3D-ResNets-PyTorch, branch CVPR2018), the
protocol behind its 42.4% UCF101 number; useful options of the newer reference and our own are added
in the same snake_case style. `parse_opts()` also resolves `--root_path` and derives `arch`, `mean`,
`std`, `scales` and the fine-tuning class counts. Value constraints (``--batch_size`` >= 1, ...) are
core/flags.py's table, checked right after parsing.
"""
import argparse
import os
import shlex
import sys

import datasets
import models
from datasets.mean import get_mean, get_mean_std, get_std
from core.flags import check_flags

PATH_OPTIONS = ['video_path', 'annotation_path', 'result_path', 'resume_path', 'pretrain_path']


def build_parser(description=None):
    p = argparse.ArgumentParser(allow_abbrev=False, description=description or __doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    g = p.add_argument_group('paths')
    g.add_argument('--root_path', default='', type=str,
                   help='if set, prefixes the relative --video_path, --annotation_path, --result_path, '
                        '--resume_path and --pretrain_path')
    g.add_argument('--video_path', default='video_kinetics_jpg', type=str,
                   help='root of the JPEG frames: <video_path>/<class>/<video>/image_00001.jpg')
    g.add_argument('--file_type', default='jpg', choices=['jpg', 'hdf5'],
                   help='how --video_path stores the frames: jpg = <class>/<video>/image_00001.jpg ...; hdf5 = '
                        "one <class>/<video>.hdf5 per video (the reference's layout, made by "
                        'utils/generate_video_hdf5.py; same pixels)')
    g.add_argument('--annotation_path', default='kinetics.json', type=str,
                   help='annotation JSON (utils/ucf101_json.py writes ucf101_01.json for split 1)')
    g.add_argument('--result_path', default='results', type=str,
                   help='output folder (created if missing): logs, opts.json, checkpoints')
    g.add_argument('--dataset', default='kinetics', type=str,
                   choices=['kinetics', 'activitynet', 'ucf101', 'hmdb51', 'mit'],
                   help='dataset kind (mit: refused, no reader here)')
    g.add_argument('--allow_missing', action='store_true',
                   help='skip (and count) annotated videos whose frame folder is missing instead of stopping')

    g = p.add_argument_group('model')
    g.add_argument('--model', default='resnet', type=str, choices=models.model_names(),
                   help='model family, or a ResNet variant name (= resnet with --kernel_type/--se)')
    g.add_argument('--model_depth', default=18, type=int, help=models.depth_help())
    g.add_argument('--n_classes', default=400, type=int,
                   help='classes of the task (old reference: of the pretrained model when '
                        '--n_finetune_classes is given)')
    g.add_argument('--resnet_shortcut', default='B', type=str, choices=['A', 'B'],
                   help='shortcut: A = zero-padded identity (pretrained ResNet-18/34), B = 1x1x1 conv + BN')
    g.add_argument('--wide_resnet_k', default=2, type=int, help='width factor of wideresnet')
    g.add_argument('--resnext_cardinality', default=32, type=int, help='groups of resnext')
    g.add_argument('--conv1_t_size', default=7, type=int, help='temporal kernel size of conv1')
    g.add_argument('--conv1_t_stride', default=1, type=int, help='temporal stride of conv1')
    g.add_argument('--no_max_pool', action='store_true', help='drop the max-pooling after conv1')
    g.add_argument('--resnet_widen_factor', default=1.0, type=float,
                   help='multiplies the stage widths of resnet/resnet2p1d/preresnet')
    g.add_argument('--data_format', default='NCDHW', choices=['NCDHW', 'NDHWC'],
                   help='tensor layout of the model; NDHWC (channels-last) is for GPUs with --amp; '
                        'checkpoints load into either')
    g.add_argument('--kernel_type', default='3d', type=str, choices=list(models.registry.KERNELS),
                   help='replacement of each kxkxk convolution in the ResNet family (see README)')
    g.add_argument('--se', action='store_true', help='squeeze-and-excitation on every residual branch')

    g = p.add_argument_group('input and augmentation')
    g.add_argument('--sample_size', default=112, type=int, help='crop height and width')
    g.add_argument('--sample_duration', default=16, type=int, help='frames per clip')
    g.add_argument('--sample_t_stride', default=1, type=int, help='take every k-th frame before cropping')
    g.add_argument('--initial_scale', default=1.0, type=float, help='largest multi-scale crop scale')
    g.add_argument('--n_scales', default=5, type=int, help='number of multi-scale crop scales')
    g.add_argument('--scale_step', default=0.84089641525, type=float, help='ratio between crop scales')
    g.add_argument('--train_crop', default='corner', type=str, choices=list(datasets.TRAIN_CROPS),
                   help='corner: multi-scale 4 corners + centre (CVPR2018); random: random-resized crop; '
                        'center: multi-scale centre crop; multiscale_random: multi-scale crop at a random position')
    g.add_argument('--train_crop_min_scale', default=0.25, type=float, help='--train_crop random: min area')
    g.add_argument('--train_crop_min_ratio', default=0.75, type=float, help='--train_crop random: min aspect')
    g.add_argument('--train_t_crop', default='random', type=str, choices=['random', 'center'],
                   help='temporal crop of training clips')
    g.add_argument('--no_hflip', action='store_true', help='no random horizontal flip in training')
    g.add_argument('--norm_value', default=1, type=int,
                   help='pixel values are divided by it: 1 -> [0,255] (reference models), 255 -> [0,1]')
    g.add_argument('--value_scale', default=None, type=float,
                   help='newer reference (2020) spelling: inputs in [0, value_scale], normalised with the newer '
                        "reference's means and stds (as its r3d*/r2p1d* models expect); overrides --norm_value")
    g.add_argument('--mean_dataset', default='activitynet', type=str, choices=['activitynet', 'kinetics', '0.5'],
                   help="which dataset's mean (and with --std_norm, std) is used; 0.5 needs --value_scale")
    g.add_argument('--no_mean_norm', action='store_true', help='do not subtract the mean')
    g.add_argument('--std_norm', action='store_true',
                   help='also divide by the standard deviation (the newer reference\'s default; CVPR2018: off)')
    g.add_argument('--no_std_norm', dest='std_norm', action='store_false',
                   help='newer-reference spelling of the default here: do not divide by the standard deviation')
    g.add_argument('--n_val_samples', default=3, type=int, help='validation clips per video')
    g.add_argument('--colorjitter', action='store_true',
                   help="newer reference's flag, accepted and, as there, without effect: it appends ColorJitter() "
                        'with all-zero strengths, which changes no pixel')

    g = p.add_argument_group('optimisation')
    g.add_argument('--learning_rate', '--lr', default=0.1, type=float, help='initial learning rate')
    g.add_argument('--momentum', default=0.9, type=float, help='SGD momentum')
    g.add_argument('--dampening', default=0.9, type=float,
                   help='SGD dampening as in PyTorch (CVPR2018 default 0.9; 0 when --nesterov)')
    g.add_argument('--weight_decay', default=1e-3, type=float, help='L2 weight decay (coupled, as PyTorch SGD)')
    g.add_argument('--nesterov', action='store_true', help='Nesterov momentum')
    g.add_argument('--optimizer', default='sgd', type=str, choices=['sgd'], help='only SGD, as the reference')
    g.add_argument('--lr_scheduler', default='plateau', type=str, choices=['plateau', 'multistep', 'cosine'],
                   help='plateau: /10 when the validation loss stalls (CVPR2018)')
    g.add_argument('--lr_patience', '--plateau_patience', dest='lr_patience', default=10, type=int,
                   help='epochs without validation-loss improvement before the plateau scheduler divides by 10')
    g.add_argument('--multistep_milestones', default=[50, 100, 150], type=int, nargs='+',
                   help='epochs at which multistep divides the learning rate by 10 (a resumed run uses the '
                        "command line's, never the checkpoint's)")
    g.add_argument('--overwrite_milestones', action='store_true',
                   help="newer reference's flag for what a resumed run always does here: the command line's "
                        '--multistep_milestones replace the schedule\'s')
    g.add_argument('--warmup_epochs', default=0, type=int, help='linear warm-up epochs (0 = none)')
    g.add_argument('--batch_size', default=128, type=int, help='clips per batch (per update with --accumulate_steps)')
    g.add_argument('--accumulate_steps', default=1, type=int,
                   help='split each --batch_size batch into this many forward/backward passes and update once: '
                        "the reference's batch 128 on a GPU that fits 32 is --batch_size 128 --accumulate_steps 4 "
                        '(same loss and update, except that BatchNorm normalises each pass on its own clips)')
    g.add_argument('--n_epochs', default=200, type=int, help='last epoch')
    g.add_argument('--begin_epoch', default=1, type=int, help='first epoch (a resumed run takes it from the checkpoint)')
    g.add_argument('--batchnorm_sync', action='store_true',
                   help='BatchNorm statistics over the clips of every GPU (Paddle SyncBatchNorm; needs several GPU '
                        'processes under paddle.distributed.launch)')
    g.add_argument('--amp', action='store_true', help='automatic mixed precision (GPU only; ignored with a warning on CPU)')
    g.add_argument('--amp_dtype', default='float16', choices=['float16', 'bfloat16'], help='AMP dtype')

    g = p.add_argument_group('checkpoints and fine-tuning')
    g.add_argument('--checkpoint', default=10, type=int, help='save save_{epoch}.pdparams every N epochs')
    g.add_argument('--resume_path', default='', type=str, help='checkpoint to continue training from')
    g.add_argument('--pretrain_path', default='', type=str,
                   help='pretrained weights (.pdparams, ours or converted); the classifier is replaced')
    g.add_argument('--n_pretrain_classes', default=0, type=int,
                   help='classes of --pretrain_path (0: read from the checkpoint)')
    g.add_argument('--n_finetune_classes', default=0, type=int,
                   help='old reference spelling: classes of the new classifier (then --n_classes is the '
                        'pretrained count)')
    g.add_argument('--ft_begin_index', default=0, type=int,
                   help='0: train all; k: train layer{k}..layer4 and fc, the rest at learning rate 0')
    g.add_argument('--ft_begin_module', default='', type=str,
                   help='train this module (e.g. layer4, fc) and everything after it; the rest is frozen')

    g = p.add_argument_group('run')
    g.add_argument('--no_train', action='store_true', help='skip training')
    g.add_argument('--no_val', action='store_true', help='skip validation')
    g.add_argument('--device', default='auto', choices=['auto', 'cpu', 'gpu'],
                   help='auto: the GPU when Paddle has CUDA and sees one, else the CPU')
    g.add_argument('--no_cuda', action='store_true', help='old spelling of --device cpu')
    g.add_argument('--n_threads', default=4, type=int, help='DataLoader worker processes')
    g.add_argument('--cpu_threads', default=0, type=int,
                   help='math threads on the CPU (0: one per core; Paddle alone would use one)')
    g.add_argument('--eval_graph', default='auto', choices=['auto', 'static', 'dygraph'],
                   help='graph for validation and test.py; auto: a static graph with oneDNN kernels on a '
                        'single CPU process (several times faster there), the dynamic graph on GPUs, with '
                        '--amp and under paddle.distributed')
    g.add_argument('--train_graph', default='auto', choices=['auto', 'static', 'dygraph'],
                   help='graph for training steps; auto: a static graph with oneDNN kernels wherever it can '
                        'run (a single CPU process, NCDHW, no --amp, not densenet; 0.3-0.6x the step time, '
                        'docs/PERFORMANCE.md), the dynamic graph elsewhere; static: insist on it; dygraph: '
                        "Paddle's dynamic graph everywhere")
    g.add_argument('--loader', default='fast', choices=['fast', 'pil', 'fast_draft'],
                   help="fast: each JPEG cropped and resized in one step, kept uint8 and normalised per batch "
                        "(the reference's pixels); pil: the reference's per-frame PIL/float pipeline; "
                        'fast_draft: fast plus JPEG decoding at reduced size (faster, other pixels, '
                        'measured to cost accuracy: docs/PARITY.md)')
    g.add_argument('--manual_seed', default=1, type=int, help='seed of Python, NumPy and Paddle')
    g.add_argument('--vdl', dest='vdl', action='store_true', default=True,
                   help='write VisualDL scalars on rank 0 (the default)')
    g.add_argument('--no_vdl', dest='vdl', action='store_false',
                   help='do not write VisualDL scalars (written to <result_path>/vdl by default)')
    g.add_argument('--no_tqdm', action='store_true', help='plain log lines instead of progress bars')
    g.add_argument('--verbose', action='store_true',
                   help="also show Paddle's known warnings and glog lines (hidden by default: core/preload.py)")

    g = p.add_argument_group('test (test.py, and main.py --inference / --test after training)')
    g.add_argument('--inference', '--test', dest='inference', action='store_true',
                   help='main.py: after training (or, with --no_train, on --resume_path) evaluate as test.py does '
                        'and write <result_path>/<subset>.json (newer reference: --inference, CVPR2018: --test)')
    g.add_argument('--test_subset', '--inference_subset', dest='test_subset', default='val',
                   choices=['val', 'test', 'train'],
                   help='subset evaluated by test.py and --inference (newer reference: --inference_subset)')
    g.add_argument('--inference_crop', default='center', choices=['center', 'nocrop', 'three_crop'],
                   help='center: the --sample_size crop at --crop_position_in_test; nocrop: the whole frame with '
                        'its short side scaled to --sample_size (fully convolutional, one video per batch); '
                        'three_crop: the tl, c and br crops of that frame (left, centre, right of a landscape '
                        'one), scores averaged, the centre crop\'s accuracy reported beside')
    g.add_argument('--inference_no_average', action='store_true',
                   help='<subset>.json keeps one entry per window ({"segment", "result"}) instead of the video '
                        'average, as the newer reference writes it; accuracy is still computed on the average')
    g.add_argument('--inference_batch_size', default=0, type=int,
                   help='clips per evaluation batch (0: --batch_size; the newer reference counted videos)')
    g.add_argument('--scale_in_test', default=1.0, type=float, help='test: resize short side to sample_size/scale')
    g.add_argument('--crop_position_in_test', default='c', choices=['c', 'tl', 'tr', 'bl', 'br'],
                   help='test crop position')
    g.add_argument('--no_softmax_in_test', action='store_true', help='average raw clip scores instead of softmax')
    g.add_argument('--inference_stride', default=0, type=int,
                   help='test window stride in frames (0: the window span, sample_duration x sample_t_stride, so windows do not overlap)')
    g.add_argument('--output_topk', default=5, type=int, help='labels saved per video in val.json (<= 0: all)')

    g = p.add_argument_group('reference flags refused here (each error names what to use instead)')
    g.add_argument('--input_type', default='rgb', choices=['rgb', 'flow'], help='rgb: the only input here')
    g.add_argument('--accimage', action='store_true', help='refused: the default --loader fast replaces it')
    g.add_argument('--tensorboard', action='store_true', help='refused: VisualDL curves are written by default')
    g.add_argument('--distributed', action='store_true', help='refused: the error gives the launcher command')
    g.add_argument('--dist_url', default=None, help='refused: --master of the launcher')
    g.add_argument('--world_size', default=None, type=int, help='refused: --nnodes of the launcher')
    return p


def _without(argv, flags_with_value, flags):
    """argv without the given flags (and the value of those in ``flags_with_value``)."""
    kept, skip = [], False
    for arg in argv:
        name = arg.split('=', 1)[0]
        if skip:
            skip = False
        elif name in flags_with_value:
            skip = '=' not in arg
        elif name not in flags:
            kept.append(arg)
    return kept


def launch_command(opt, argv, prog):
    """The paddle.distributed.launch command that does what the reference's --distributed did."""
    nodes = ''
    if opt.world_size is not None and opt.world_size > 1:
        master = (opt.dist_url or 'tcp://<node-0 ip>:<port>').split('://')[-1]
        nodes = f'--master {master} --nnodes {opt.world_size} '
    rest = _without(argv, ('--dist_url', '--world_size'), ('--distributed',))
    return (f'python -m paddle.distributed.launch {nodes}--gpus 0,1,2,3 {os.path.basename(prog)} '
            + ' '.join(shlex.quote(a) for a in rest)).rstrip()


def reference_refusal(opt, argv, prog):
    """The one-line error for a reference flag this project does differently, or None."""
    if opt.distributed or opt.dist_url is not None or opt.world_size is not None:
        flag = '--distributed' if opt.distributed else '--dist_url' if opt.dist_url is not None else '--world_size'
        return (f'{flag}: Paddle starts one process per GPU with its launcher (on every node, with --master '
                f'and --nnodes for several); run: {launch_command(opt, argv, prog)}')
    if opt.tensorboard:
        vdl = os.path.join(opt.root_path, opt.result_path, 'vdl')
        return (f'--tensorboard: the loss/accuracy/lr curves are written for VisualDL by default (to {vdl}; view '
                f'them with: visualdl --logdir {vdl}); drop --tensorboard')
    if opt.accimage:
        return ('--accimage: the default --loader fast decodes each JPEG straight into the cropped, resized '
                'uint8 clip (faster than accimage+PIL, same pixels as the reference); drop --accimage')
    if opt.input_type == 'flow':
        return '--input_type flow: optical-flow input is not supported here (RGB frames only); drop --input_type'
    if opt.dataset == 'mit':
        return ('--dataset mit: Moments in Time has no reader here; the datasets supported are ucf101, hmdb51, '
                'kinetics and activitynet')
    return None


def resolve_opts(opt):
    """Apply --root_path and derive the values main.py and test.py use."""
    if opt.root_path:
        for name in PATH_OPTIONS:
            value = getattr(opt, name)
            if value and not os.path.isabs(value):
                setattr(opt, name, os.path.join(opt.root_path, value))
    if opt.value_scale:
        opt.norm_value = 255.0 / opt.value_scale
    elif opt.mean_dataset == '0.5':
        raise ValueError('--mean_dataset 0.5 is a newer-reference setting: pass --value_scale too (e.g. 1)')
    if opt.warmup_epochs and opt.lr_scheduler == 'plateau':
        raise ValueError('--warmup_epochs works with --lr_scheduler multistep or cosine, not plateau')
    if opt.eval_graph == 'static' and opt.data_format != 'NCDHW':
        raise ValueError('--eval_graph static needs --data_format NCDHW (oneDNN fails on channels-last 5-D tensors)')
    if opt.batch_size % opt.accumulate_steps:
        raise ValueError(f'--batch_size {opt.batch_size} is not a multiple of '
                         f'--accumulate_steps {opt.accumulate_steps}')
    if opt.no_cuda:
        opt.device = 'cpu'
    if opt.nesterov:
        opt.dampening = 0.0
    opt.scales = datasets.default_scales(opt.initial_scale, opt.n_scales, opt.scale_step)
    opt.arch = f'{opt.model}-{opt.model_depth}'
    if opt.value_scale:
        mean, std = get_mean_std(opt.value_scale, opt.mean_dataset)
    else:
        mean, std = get_mean(opt.norm_value, dataset=opt.mean_dataset), get_std(opt.norm_value)
    opt.mean = [0.0, 0.0, 0.0] if opt.no_mean_norm else list(mean)
    opt.std = list(std) if opt.std_norm else [1.0, 1.0, 1.0]
    opt.n_input_channels = 3
    if opt.n_finetune_classes and not opt.n_pretrain_classes:
        # Old reference: --n_classes is the pretrained model's count, --n_finetune_classes the task's.
        opt.n_pretrain_classes, opt.n_classes = opt.n_classes, opt.n_finetune_classes
    return opt


def parse_opts(argv=None, description=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(description)
    opt = check_flags(parser, parser.parse_args(argv))  # core/flags.py: the one table of value constraints
    refusal = reference_refusal(opt, argv, parser.prog)
    if refusal:
        parser.error(refusal)
    try:
        return resolve_opts(opt)
    except ValueError as e:
        parser.error(str(e))


def explicit_options(argv=None):
    """Names (dests) of the options actually given in argv (default: sys.argv[1:]), aliases and '--x=v'
    included: the flags that win over what a checkpoint records."""
    parser = build_parser()
    for action in parser._actions:
        action.default = argparse.SUPPRESS
    return set(vars(parser.parse_args(sys.argv[1:] if argv is None else argv)))
