"""The base every layer uses, with no Paddle: user errors and the one catch of every command (errors.py),
flag and output checks (flags.py), what a command sets before Paddle loads (preload.py), atomic file
writes (files.py)."""
