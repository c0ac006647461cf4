"""The base every layer uses, with no Paddle: user errors and the one catch of every command (errors.py),
flag and output checks (flags.py), the tensor layouts (layout.py), atomic file writes (files.py), progress
that suits a terminal or a log (progress.py), and what a command sets before Paddle loads (preload.py)."""
