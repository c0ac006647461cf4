"""The training step behind one interface, whichever graph runs it: ``step(clips, targets) -> (logits, loss)``,
``step.backward(loss)``, ``step.train()``. ``make_train_step`` chooses the graph (--train_graph, through
engine.runtime.use_static_graph) and builds the step; train_one_epoch only calls it."""
import paddle
import paddle.nn.functional as F

import models
from datasets.safe_clips import clip_shape
from engine.runtime import AMP_WHITE_LIST, use_static_graph
from engine.static_training import StaticTrainStep


class DynamicTrainStep:
    """The step in Paddle's dynamic graph: mean cross-entropy of ``model`` (or its DataParallel wrapper), under
    AMP when ``amp`` is set."""

    def __init__(self, model, amp=False, amp_dtype='float16'):
        self.model, self.amp, self.amp_dtype = model, amp, amp_dtype

    def train(self):
        self.model.train()

    def __call__(self, clips, targets):
        with paddle.amp.auto_cast(enable=self.amp, dtype=self.amp_dtype, custom_white_list=AMP_WHITE_LIST):
            outputs = self.model(clips)
            loss = F.cross_entropy(outputs.astype('float32'), targets)
        return outputs, loss

    def backward(self, loss):
        loss.backward()


def make_train_step(model, config, setup, scaler=None):
    """The training step of ``model``: the static oneDNN graph where --train_graph chooses it (it computes
    the same mean cross-entropy as log_softmax + take_along_axis), else the dynamic graph, data-parallel
    over several processes."""
    family = models.resolve_model_options(config.model)['family']
    if use_static_graph(config.train.train_graph, setup.device, setup.world_size, scaler is not None,
                        config.model.data_format, training=True, family=family,
                        batchnorm_sync=config.train.batchnorm_sync):
        return StaticTrainStep(model, clip_shape(config.data))
    wrapped = paddle.DataParallel(model) if setup.world_size > 1 else model
    return DynamicTrainStep(wrapped, amp=scaler is not None, amp_dtype=config.train.amp_dtype)
