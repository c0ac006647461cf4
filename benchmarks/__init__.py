"""Measurements of this project (throughput, loaders, decoders, model table) and the learning-parity harness
against a PyTorch re-implementation of the reference (parity/). They import the library; nothing in the
library, the commands or scripts/ imports them."""
