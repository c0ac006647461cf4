"""A dataset wrapper whose items never raise, so a bad clip is reported instead of hanging the loader.

Paddle 3.3's DataLoader hangs forever when ``__getitem__`` raises with ``num_workers=0``, and with
workers it replaces the error by "SystemError: Blocking queue is killed". ``SafeClips`` returns a
failed clip as zeros with ``ok=0`` and its error message (e.g. the missing frame's path) as bytes,
so the consumer reports the worker's own message in every worker configuration (loading the clip
again would draw another random window, which may not touch the bad frame).
"""
import numpy as np


def one_line(exc):
    """The useful last line of an exception, also when it embeds a worker's traceback."""
    text = str(exc).strip()
    if 'Traceback' in text or 'DataLoader worker' in text:
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        last = lines[-1] if lines else text
        prefix = f'{type(exc).__name__}: '
        return last[len(prefix):] if last.startswith(prefix) else last
    return text


MESSAGE_BYTES = 1024  # room for an error message carried through the DataLoader as uint8


def encode_message(text):
    data = text.encode('utf-8', 'replace')[:MESSAGE_BYTES]
    return np.frombuffer(data.ljust(MESSAGE_BYTES, b'\0'), dtype=np.uint8).copy()


def decode_message(array):
    return bytes(np.asarray(array, dtype=np.uint8).reshape(-1)).rstrip(b'\0').decode('utf-8', 'replace')


NO_MESSAGE = encode_message('')


class SafeClips:
    """Items (clip, target, index, ok, message) of a dataset whose items are (clip, target).

    A failed clip is zeros of ``clip_shape`` and of the dataset's ``clip_dtype`` (uint8 from the
    fast loader, else float32), so it collates with the good clips of its batch."""

    def __init__(self, dataset, clip_shape):
        self.dataset = dataset
        self.clip_shape = tuple(int(n) for n in clip_shape)
        self.clip_dtype = getattr(dataset, 'clip_dtype', np.float32)

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, index):
        try:
            clip, target = self.dataset[index]
            return clip, np.int64(target), np.int64(index), np.int64(1), NO_MESSAGE
        except Exception as e:  # reported by the consumer (first_error)
            message = one_line(e) or type(e).__name__
            return (np.zeros(self.clip_shape, self.clip_dtype), np.int64(-1), np.int64(index), np.int64(0),
                    encode_message(message))

    def load_error(self, index):
        try:
            self.dataset[index]
        except Exception as e:
            return one_line(e)
        return f'clip {index} of {self.dataset.samples[index]["video"]} could not be loaded in a worker'

    def first_error(self, indices, ok, messages=None):
        """The message for the first failed item of a batch (the worker's own, from ``messages``), or None
        if every item loaded."""
        ok = np.asarray(ok).reshape(-1)
        if ok.all():
            return None
        first = int(np.flatnonzero(ok == 0)[0])
        message = decode_message(np.asarray(messages)[first]) if messages is not None else ''
        return message or self.load_error(int(np.asarray(indices).reshape(-1)[first]))


def clip_shape(opt):
    return (int(getattr(opt, 'n_input_channels', 3) or 3), int(opt.sample_duration),
            int(opt.sample_size), int(opt.sample_size))
