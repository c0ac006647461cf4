"""The typed, immutable configuration of a run: what the library's functions take instead of the flags.

A command turns its parsed flags into a ``Config`` once (opts.py, ``config_from_flags``); a checkpoint's
options are merged in by engine.checkpoint, which returns a new config. Field names are the flags' names,
so a field is documented by the flag's ``--help`` (docs/TRAINING.md lists them by command).

    Config.model       models.ModelConfig: what builds the model
    Config.data        DataConfig: which clips the loaders produce and how they are normalised
    Config.train       TrainConfig: optimisation, schedule, checkpoints, fine-tuning, the training graph
    Config.evaluation  EvalConfig: what test.py / validation do with the clip scores
    Config.run         RunConfig: where the run writes and what it runs on
"""
from dataclasses import dataclass, field, fields, replace
from typing import Optional

from models.options import ModelConfig

# The input options a checkpoint records (its ``data_opts``), so test.py and predict.py cut and normalise
# clips as in training.
DATA_RECORD_NAMES = ('sample_size', 'sample_duration', 'sample_t_stride', 'norm_value', 'mean', 'std')


@dataclass(frozen=True)
class DataConfig:
    dataset: str = 'kinetics'
    video_path: str = 'video_kinetics_jpg'
    annotation_path: str = 'kinetics.json'
    file_type: str = 'jpg'
    allow_missing: bool = False
    loader: str = 'fast'
    n_threads: int = 4
    sample_size: int = 112
    sample_duration: int = 16
    sample_t_stride: int = 1
    scales: list = field(default_factory=lambda: [1.0])
    train_crop: str = 'corner'
    train_crop_min_scale: float = 0.25
    train_crop_min_ratio: float = 0.75
    train_t_crop: str = 'random'
    no_hflip: bool = False
    norm_value: float = 1
    mean: list = field(default_factory=lambda: [0.0, 0.0, 0.0])
    std: list = field(default_factory=lambda: [1.0, 1.0, 1.0])
    n_val_samples: int = 3
    # the test clips: which subset, which windows and crops
    test_subset: str = 'val'
    inference_crop: str = 'center'
    inference_stride: int = 0
    scale_in_test: float = 1.0
    crop_position_in_test: str = 'c'
    n_input_channels: int = 3

    def record(self):
        """The checkpoint's ``data_opts``."""
        return {name: getattr(self, name) for name in DATA_RECORD_NAMES}


@dataclass(frozen=True)
class TrainConfig:
    learning_rate: float = 0.1
    momentum: float = 0.9
    dampening: float = 0.9
    weight_decay: float = 1e-3
    nesterov: bool = False
    lr_scheduler: str = 'plateau'
    lr_patience: int = 10
    multistep_milestones: list = field(default_factory=lambda: [50, 100, 150])
    warmup_epochs: int = 0
    batch_size: int = 128
    accumulate_steps: int = 1
    n_epochs: int = 200
    begin_epoch: int = 1
    batchnorm_sync: bool = False
    amp: bool = False
    amp_dtype: str = 'float16'
    checkpoint: int = 10
    resume_path: str = ''
    pretrain_path: str = ''
    n_pretrain_classes: int = 0
    ft_begin_index: int = 0
    ft_begin_module: str = ''
    manual_seed: int = 1
    train_graph: str = 'auto'
    no_train: bool = False
    no_val: bool = False
    inference: bool = False


@dataclass(frozen=True)
class EvalConfig:
    checkpoint_path: str = ''  # the checkpoint test.py evaluates
    batch_size: int = 128  # clips per evaluation batch
    no_softmax_in_test: bool = False
    inference_no_average: bool = False
    output_topk: int = 5
    eval_graph: str = 'auto'


@dataclass(frozen=True)
class RunConfig:
    result_path: str = 'results'
    device: str = 'auto'
    cpu_threads: int = 0
    no_tqdm: bool = False
    vdl: bool = True
    verbose: bool = False


@dataclass(frozen=True)
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    evaluation: EvalConfig = field(default_factory=EvalConfig)
    run: RunConfig = field(default_factory=RunConfig)
    given: frozenset = frozenset()  # the names typed on the command line: they win over a checkpoint's record

    def replace(self, **parts):
        """A new Config with some parts replaced (``config.replace(model=...)``)."""
        return replace(self, **parts)

    def record(self):
        """Every field by its flag name (opts.json)."""
        values = {}
        for part in (self.model, self.data, self.train, self.evaluation, self.run):
            values.update({f.name: getattr(part, f.name) for f in fields(part)})
        values['arch'] = self.model.arch
        return values


def from_values(cls, values):
    """``cls`` with the fields ``values`` (any object with attributes of the flags' names) has."""
    return cls(**{f.name: getattr(values, f.name) for f in fields(cls) if hasattr(values, f.name)})


def config_from_values(values, checkpoint_path: Optional[str] = None, given=frozenset()):
    """The Config of an object carrying the flags' values by name (argparse's namespace after opts.py has
    resolved it; missing names keep the defaults). EvalConfig's batch size is --inference_batch_size, else
    --batch_size."""
    evaluation = from_values(EvalConfig, values)
    batch_size = getattr(values, 'inference_batch_size', 0) or getattr(values, 'batch_size', evaluation.batch_size)
    evaluation = replace(evaluation, batch_size=batch_size, checkpoint_path=checkpoint_path or '')
    return Config(model=from_values(ModelConfig, values), data=from_values(DataConfig, values),
                  train=from_values(TrainConfig, values), evaluation=evaluation, run=from_values(RunConfig, values),
                  given=frozenset(given))
