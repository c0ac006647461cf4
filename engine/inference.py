"""Running a trained model outside training: from a checkpoint in the dynamic (or static evaluation) graph, or
from a folder written by scripts/export_model.py through paddle.inference. Both take normalised clips
N x C x T x H x W and return logits; scripts/predict.py and scripts/export_model.py use them."""
import glob
import json
import os

import numpy as np

from core.errors import UserError
from core.layout import to_data_format
from engine.checkpoint import load_checkpoint
from engine.runtime import compile_predict, cpu_cores

MODEL_INFO = 'model_info.json'  # written beside an export: the model, its classes and its input options


def find_inference_files(directory):
    """(model_file, params_file) of a paddle.jit.save export: Paddle 3 `.json`, Paddle 2 `.pdmodel`."""
    if not os.path.isdir(directory):
        raise UserError(f'{directory}: exported model folder not found (write it with scripts/export_model.py)')
    for params in sorted(glob.glob(os.path.join(directory, '*.pdiparams'))):
        prefix = params[:-len('.pdiparams')]
        for ext in ('.json', '.pdmodel'):
            if os.path.isfile(prefix + ext):
                return prefix + ext, params
    raise UserError(f'{directory}: no <name>.json/.pdmodel + <name>.pdiparams pair '
                       '(write it with scripts/export_model.py)')


class InferenceModel:
    """A paddle.inference predictor over an exported model; `__call__(clips N x C x T x H x W) -> logits`."""

    def __init__(self, directory, device='cpu', threads=0):
        from paddle import inference
        model_file, params_file = find_inference_files(directory)
        config = inference.Config(model_file, params_file)
        if device == 'gpu':
            config.enable_use_gpu(256, 0)
        else:
            config.disable_gpu()
            config.set_cpu_math_library_num_threads(threads or cpu_cores())
        config.disable_glog_info()
        try:
            self.predictor = inference.create_predictor(config)
        except Exception as e:  # paddle raises several internal types for a corrupt program/params
            raise UserError(f'{directory}: cannot load the exported model ({type(e).__name__}: '
                               f'{str(e).strip().splitlines()[-1] if str(e).strip() else e})') from None
        self.files = (model_file, params_file)

    def __call__(self, clips):
        clips = np.ascontiguousarray(clips, dtype=np.float32)
        handle = self.predictor.get_input_handle(self.predictor.get_input_names()[0])
        try:
            handle.reshape(list(clips.shape))
            handle.copy_from_cpu(clips)
            self.predictor.run()
        except Exception as e:  # e.g. clips of another size than the exported input
            message = str(e).strip().splitlines()
            raise UserError(f'{self.files[0]}: cannot run on clips of shape {list(clips.shape)} '
                               f'({type(e).__name__}: {message[0] if message else ""}); the export fixes '
                               '--sample_size and --sample_duration') from None
        return self.predictor.get_output_handle(self.predictor.get_output_names()[0]).copy_to_cpu()


class DynamicModel:
    """A model from a checkpoint, run as engine.runtime.compile_predict builds it; `__call__(clips) -> logits`."""

    def __init__(self, model, input_shape=None, static=False):
        self.predict = compile_predict(model, input_shape, static)
        self.data_format = model.data_format

    def __call__(self, clips):
        import paddle
        clips = paddle.to_tensor(np.ascontiguousarray(clips, dtype=np.float32))
        with paddle.no_grad():
            return self.predict(to_data_format(clips, self.data_format)).numpy()


def model_from_checkpoint(path, config):
    """(eval-mode model, checkpoint dict, Config with the checkpoint's model and input options where no flag
    was typed), as test.py builds it."""
    from engine.evaluation import build_model
    checkpoint = load_checkpoint(path)
    model, config, _ = build_model(config, checkpoint, path)
    return model, checkpoint, config


def read_model_info(directory):
    """The export's model_info.json ({} when there is none); one error naming the file when it cannot be
    read as the object scripts/export_model.py writes."""
    path = os.path.join(directory, MODEL_INFO)
    if not os.path.isfile(path):
        return {}
    again = 'write the export again with scripts/export_model.py, or remove the file'
    try:
        with open(path, encoding='utf-8') as f:
            info = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UserError(f'{path} is not valid JSON ({e}); {again}') from None
    if not isinstance(info, dict):
        raise UserError(f'{path}: expected a JSON object, got {type(info).__name__}; {again}')
    names = info.get('class_names')
    if names is not None and not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
        raise UserError(f'{path}: "class_names" must be a list of strings, got {json.dumps(names)[:80]}; {again}')
    n = info.get('n_classes')
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise UserError(f'{path}: "n_classes" must be an int >= 1, got {json.dumps(n)[:80]}; {again}')
    for name in ('sample_size', 'sample_duration', 'sample_t_stride'):
        v = info.get(name)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
            raise UserError(f'{path}: "{name}" must be an int >= 1, got {json.dumps(v)[:80]}; {again}')
    for name in ('mean', 'std'):
        v = info.get(name)
        if v is not None and not (isinstance(v, list) and v and all(
                isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)):
            raise UserError(f'{path}: "{name}" must be a list of numbers, got {json.dumps(v)[:80]}; {again}')
    v = info.get('norm_value')
    if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0):
        raise UserError(f'{path}: "norm_value" must be a number > 0, got {json.dumps(v)[:80]}; {again}')
    return info
