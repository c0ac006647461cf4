"""Training steps in a static graph run with oneDNN kernels (``--train_graph``), equal to the dynamic step.

Paddle 3.3.1's oneDNN training graph has four defects (docs/PERFORMANCE.md) that this step works around:

* batch norm's running statistics come out wrong (from zero running statistics the kernel's updated mean is
  0.19 x the batch mean, not 0.1: the update is applied twice). Each BatchNorm3D instead computes its batch
  mean and biased variance with explicit reductions in the graph and returns them; the running statistics
  are updated outside the graph with PyTorch's rule (unbiased variance), as models._common.BatchNorm3D does
  in the dynamic graph. (The kernel's own saved mean and inverse standard deviation would avoid the extra
  reductions, but give wrong variances in the oneDNN training graph.)
* the fused softmax cross-entropy overwrites the logits returned from the graph: the loss is
  log_softmax + take_along_axis instead.
* its backward aborts the process on a one-clip batch: such a batch runs the same layer in the dynamic graph.
* densenet's graph aborts the process: ``engine.runtime.use_static_graph`` keeps densenet in the dynamic graph.

benchmarks/bench_static_training.py measures the step against the dynamic one (time, and one step's updates
for every family x kernel x SE).
"""
import warnings

import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F
from paddle.static import InputSpec

from engine.runtime import onednn, stdout_hidden
from models import BatchNorm3D



def statistics_forward(layer, sink):
    """``layer.forward`` (a BatchNorm3D) that, in training, hands the batch mean and biased variance to ``sink``
    (a list) instead of updating the running statistics; as BatchNorm3D otherwise. An instance attribute,
    not a subclass: the dynamic-to-static translation resolves BatchNorm3D's ``super()`` by the instance's
    class, which recurses for a subclass."""
    original = layer.forward

    def forward(x):
        # one value per channel (a one-clip batch at a tiny size, only in the dynamic graph): Paddle's kernel
        # then normalises with the running statistics and leaves them alone; so does this
        if not layer.training or layer._use_global_stats or int(np.prod(x.shape)) == layer._num_features:
            return original(x)
        axes = [0, 2, 3, 4]
        values = x.detach()
        mean = values.mean(axis=axes)
        deviations = values - mean.reshape([1, -1, 1, 1, 1])
        # in the graph, square, not ** 2: the same values there (bit for bit), but 3-4x faster on a ResNet-18
        # activation (benchmarks/profile_step.py's statistics row); in the dynamic graph (a one-clip batch)
        # the two round differently, so it keeps ** 2
        squares = deviations ** 2 if paddle.in_dynamic_mode() else paddle.square(deviations)
        variance = squares.mean(axis=axes)
        sink.append((layer, mean, variance, int(np.prod(x.shape[1:])) // layer._num_features))
        # the kernel normalises; its in-place running statistics go to copies that nobody reads
        return F.batch_norm(x, layer._mean.detach().clone(), layer._variance.detach().clone(), weight=layer.weight,
                            bias=layer.bias, training=True, momentum=layer._momentum, epsilon=layer._epsilon,
                            data_format=layer._data_format)

    return forward


class TrainGraph(nn.Layer):
    """(loss, logits, then the batch mean and variance of every batch norm) of one batch."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.sink = []
        self.norms = []  # (layer, values per channel per clip), in the order of the returned statistics
        for layer in model.sublayers():
            if isinstance(layer, BatchNorm3D):
                layer.forward = statistics_forward(layer, self.sink)

    def forward(self, clips, targets):
        self.sink.clear()
        logits = self.model(clips)
        log_probabilities = F.log_softmax(logits, axis=1)
        loss = -paddle.take_along_axis(log_probabilities, targets.unsqueeze(1), axis=1).mean()
        self.norms = [(layer, per_clip) for layer, _, _, per_clip in self.sink]
        # oneDNN outputs cannot be handed to the dynamic graph directly (engine.runtime.Logits)
        statistics = [paddle.assign(t) for _, mean, variance, _ in self.sink for t in (mean, variance)]
        return [paddle.assign(loss), paddle.assign(logits)] + statistics


class StaticTrainStep:
    """``step(clips, targets) -> (logits, loss)`` through the static oneDNN graph of ``model`` (NCDHW clips of
    ``clip_shape``, any batch size); ``step.backward(loss)`` back-propagates into the model's parameters and
    then updates the batch norms' running statistics from the batch."""

    def __init__(self, model, clip_shape):
        self.graph = TrainGraph(model)
        spec = [InputSpec([None] + [int(n) for n in clip_shape], 'float32', 'clips'),
                InputSpec([None], 'int64', 'targets')]
        self.static = paddle.jit.to_static(self.graph, input_spec=spec, full_graph=True)
        self.pending = None

    def train(self):
        self.graph.model.train()

    def __call__(self, clips, targets):
        batch = int(clips.shape[0])
        if batch == 1:  # Paddle 3.3.1's oneDNN backward aborts the process on a one-clip batch
            traced = self.graph.norms
            # the same layer in the dynamic graph: to_static replaced the instance's forward, not the class's
            outputs = TrainGraph.forward(self.graph, clips, targets)
            self.graph.norms, norms = traced, self.graph.norms
        else:
            with onednn(), stdout_hidden(), warnings.catch_warnings():
                # F.batch_norm asks a graph value for its place while tracing: a harmless warning per layer
                warnings.filterwarnings('ignore', message="Tensor do not have 'place' interface")
                outputs = self.static(clips, targets)
            norms = self.graph.norms  # set when the program was traced
        self.pending = (batch, norms, outputs[2::2], outputs[3::2])
        return outputs[1], outputs[0]

    def backward(self, loss):
        if self.pending[0] == 1:
            loss.backward()
        else:
            with onednn():
                loss.backward()
        self.update_running_statistics()

    @paddle.no_grad()
    def update_running_statistics(self):
        batch, norms, means, variances = self.pending
        self.pending = None
        for (layer, per_clip), mean, variance in zip(norms, means, variances):
            n = per_clip * batch
            m = layer._momentum
            paddle.assign(m * layer._mean + (1 - m) * mean, output=layer._mean)
            unbiased = variance * (n / (n - 1)) if n > 1 else variance
            paddle.assign(m * layer._variance + (1 - m) * unbiased, output=layer._variance)
