"""Per-channel means and standard deviations of the reference implementation.

OLD layout (CVPR2018 branch, the protocol behind the paper's numbers): values are on the
[0, 255] scale and are divided by ``norm_value`` (``ToTensor`` divides the pixels by the same
number, so the default ``norm_value=1`` keeps inputs in [0, 255]).

NEW layout (master after 2020): values are on the [0, 1] scale and multiplied by
``value_scale``.
"""

# OLD mean.py (kenshohara/3D-ResNets-PyTorch @ CVPR2018), [0, 255] scale.
_OLD_MEANS = {
    'activitynet': [114.7748, 107.7354, 99.4750],
    'kinetics': [110.63666788, 103.16065604, 96.29023126],
}
# OLD get_std: Kinetics standard deviation, [0, 255] scale.
_OLD_STD = [38.7568578, 37.88248729, 40.02898126]

# NEW mean.py, [0, 1] scale.
_NEW_MEAN_STD = {
    'activitynet': ([0.4477, 0.4209, 0.3906], [0.2767, 0.2695, 0.2714]),
    'kinetics': ([0.4345, 0.4051, 0.3775], [0.2768, 0.2713, 0.2737]),
    '0.5': ([0.5, 0.5, 0.5], [0.5, 0.5, 0.5]),
}


def get_mean(norm_value=255, dataset='activitynet'):
    """OLD ``get_mean``: ActivityNet or Kinetics mean divided by ``norm_value``."""
    if dataset not in _OLD_MEANS:
        raise ValueError("unknown mean dataset {!r}; expected one of {}".format(
            dataset, sorted(_OLD_MEANS)))
    return [m / norm_value for m in _OLD_MEANS[dataset]]


def get_std(norm_value=255):
    """OLD ``get_std``: Kinetics standard deviation divided by ``norm_value``."""
    return [s / norm_value for s in _OLD_STD]


def get_mean_std(value_scale, dataset):
    """NEW ``get_mean_std``: (mean, std) on the [0, 1] scale multiplied by ``value_scale``.

    ``dataset`` is 'activitynet', 'kinetics' or '0.5' (the NEW ``--mean_dataset 0.5``).
    """
    key = str(dataset)
    if key not in _NEW_MEAN_STD:
        raise ValueError("unknown mean dataset {!r}; expected one of {}".format(
            dataset, sorted(_NEW_MEAN_STD)))
    mean, std = _NEW_MEAN_STD[key]
    return [m * value_scale for m in mean], [s * value_scale for s in std]
