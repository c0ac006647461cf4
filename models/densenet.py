"""3D DenseNet-BC (reference ``models/densenet.py``), with the NEW layout's module names.

Names (``features`` is a Sequential):
``features.conv1`` Conv3D(C_in, 64, (conv1_t_size, 7, 7), stride (conv1_t_stride, 2, 2)),
``features.norm1`` (BN), ``relu1``, ``pool1`` MaxPool3D(3, 2, 1) (skipped with ``no_max_pool``);
``features.denseblock{b}.denselayer{l}.{norm1, conv1 (1^3, -> bn_size*growth), norm2,
conv2 (3^3, -> growth)}``; ``features.transition{b}.{norm, conv (1^3, -> features // 2)}`` +
AvgPool3D(2, 2) (halves T too); ``features.norm5`` (BatchNorm3D); then ReLU, adaptive average
pooling and ``classifier`` Linear.

The OLD (CVPR2018) checkpoints name the dense-layer modules ``norm.1, conv.1, norm.2, conv.2`` and
the stem ``conv0, norm0``; a converter maps them to these names (``norm.1 -> norm1``,
``conv0 -> conv1``, ``norm0 -> norm1``); ``norm5`` was a BatchNorm2d with the same keys.
DenseNet-BC: growth 32, bn_size 4, 64 initial features, drop_rate 0; block configs
121 (6,12,24,16), 169 (6,12,32,32), 201 (6,12,48,32), 264 (6,12,64,48).
Classifier init: PyTorch Linear default (the OLD reference; the NEW one zeroes the bias).
``data_format='NDHWC'``: channels-last input and layers; the dense layers concatenate on the last
axis.  The parameters are those of the default ``'NCDHW'``.
"""
import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from ._common import (batch_norm, building_in, channel_axis, check_data_format, conv3d,
                      current_data_format, formatted_layer, init_reference_weights, torch_linear)
from .registry import FAMILIES, register_family

BLOCK_CONFIGS = {121: (6, 12, 24, 16), 169: (6, 12, 32, 32), 201: (6, 12, 48, 32),
                 264: (6, 12, 64, 48)}


class _DenseLayer(nn.Layer):
    def __init__(self, num_input_features, growth_rate, bn_size, drop_rate):
        super().__init__()
        self.norm1 = batch_norm(num_input_features)
        self.relu1 = nn.ReLU()
        self.conv1 = conv3d(num_input_features, bn_size * growth_rate, 1)
        self.norm2 = batch_norm(bn_size * growth_rate)
        self.relu2 = nn.ReLU()
        self.conv2 = conv3d(bn_size * growth_rate, growth_rate, 3, padding=1)
        self.drop_rate = float(drop_rate)
        self.channel_axis = channel_axis(current_data_format())

    def forward(self, x):
        new = self.conv1(self.relu1(self.norm1(x)))
        new = self.conv2(self.relu2(self.norm2(new)))
        if self.drop_rate > 0:
            new = F.dropout(new, p=self.drop_rate, training=self.training)
        return paddle.concat([x, new], axis=self.channel_axis)


class _DenseBlock(nn.Sequential):
    def __init__(self, num_layers, num_input_features, bn_size, growth_rate, drop_rate):
        super().__init__()
        for i in range(num_layers):
            self.add_sublayer('denselayer%d' % (i + 1),
                              _DenseLayer(num_input_features + i * growth_rate, growth_rate,
                                          bn_size, drop_rate))


class _Transition(nn.Sequential):
    def __init__(self, num_input_features, num_output_features):
        super().__init__()
        self.add_sublayer('norm', batch_norm(num_input_features))
        self.add_sublayer('relu', nn.ReLU())
        self.add_sublayer('conv', conv3d(num_input_features, num_output_features, 1))
        self.add_sublayer('pool', formatted_layer(nn.AvgPool3D, kernel_size=2, stride=2))


class DenseNet(nn.Layer):
    def __init__(self, n_input_channels=3, conv1_t_size=7, conv1_t_stride=1, no_max_pool=False,
                 growth_rate=32, block_config=(6, 12, 24, 16), num_init_features=64, bn_size=4,
                 drop_rate=0.0, n_classes=400, data_format='NCDHW'):
        super().__init__()
        self.data_format = check_data_format(data_format)
        with building_in(self.data_format):  # the dense blocks' layers read the format from here
            self.features = nn.Sequential(
                ('conv1', conv3d(n_input_channels, num_init_features, (conv1_t_size, 7, 7),
                                 (conv1_t_stride, 2, 2), (conv1_t_size // 2, 3, 3))),
                ('norm1', batch_norm(num_init_features)),
                ('relu1', nn.ReLU()))
            if not no_max_pool:
                self.features.add_sublayer(
                    'pool1', formatted_layer(nn.MaxPool3D, kernel_size=3, stride=2, padding=1))
            num_features = num_init_features
            for i, num_layers in enumerate(block_config):
                self.features.add_sublayer(
                    'denseblock%d' % (i + 1),
                    _DenseBlock(num_layers, num_features, bn_size, growth_rate, drop_rate))
                num_features = num_features + num_layers * growth_rate
                if i != len(block_config) - 1:
                    self.features.add_sublayer('transition%d' % (i + 1),
                                               _Transition(num_features, num_features // 2))
                    num_features = num_features // 2
            self.features.add_sublayer('norm5', batch_norm(num_features))
        self.classifier = torch_linear(num_features, n_classes)
        init_reference_weights(self)

    def forward(self, x):
        out = F.relu(self.features(x))
        out = F.adaptive_avg_pool3d(out, (1, 1, 1), data_format=self.data_format)
        return self.classifier(paddle.flatten(out, 1))  # 1 x 1 x 1 map: N x C in either format

    @staticmethod
    def fine_tuning_names(begin_index):
        """What the reference's ``--ft_begin_index k`` trains: dense blocks and transitions k..4, norm5, the classifier."""
        names = []
        for i in range(begin_index, 5):
            names += ['denseblock{}'.format(i), 'transition{}'.format(i)]
        return names + ['norm5', 'classifier']


DEPTHS = list(BLOCK_CONFIGS)


def generate_model(model_depth, widen_factor=1.0, **kwargs):
    model_depth = FAMILIES['densenet'].check_depth(model_depth)
    return DenseNet(growth_rate=max(1, int(32 * widen_factor)),
                    num_init_features=max(1, int(64 * widen_factor)),
                    block_config=BLOCK_CONFIGS[model_depth], **kwargs)


@register_family('densenet', DEPTHS, kernel_types=['3d'], se=False, classifier='classifier')
def build(o):
    return generate_model(o['model_depth'], widen_factor=float(o['resnet_widen_factor']),
                          n_classes=int(o['n_classes']),
                          n_input_channels=int(o['n_input_channels']),
                          conv1_t_size=int(o['conv1_t_size']),
                          conv1_t_stride=int(o['conv1_t_stride']),
                          no_max_pool=bool(o['no_max_pool']),
                          data_format=o['data_format'])
