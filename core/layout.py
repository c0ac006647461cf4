"""The tensor layouts a model can take (``--data_format``), shared by the models and the input path.
No Paddle here: a batch is converted with the tensor's own ``transpose``."""
from core.errors import BadInput

DATA_FORMATS = ['NCDHW', 'NDHWC']
DEFAULT_DATA_FORMAT = 'NCDHW'


def check_data_format(data_format):
    """``data_format`` in canonical (upper-case) spelling; ValueError naming the valid ones."""
    canonical = str(data_format).upper()
    if canonical not in DATA_FORMATS:
        raise BadInput('unknown data_format {!r}; valid data formats: {} (NDHWC = '
                       'channels-last)'.format(data_format, ', '.join(DATA_FORMATS)))
    return canonical


def channel_axis(data_format):
    """The channel axis of a 5-D batch: 1 for ``'NCDHW'``, 4 for ``'NDHWC'``."""
    return 1 if check_data_format(data_format) == 'NCDHW' else 4


def to_data_format(clips, data_format):
    """An ``N x C x T x H x W`` batch (as the datasets yield it) in ``data_format``."""
    if check_data_format(data_format) == 'NCDHW':
        return clips
    return clips.transpose([0, 2, 3, 4, 1])
