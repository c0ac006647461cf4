"""The training and evaluation library behind main.py, test.py and scripts/: it takes a Config
(config.py) and explicit objects, never argv. docs/DESIGN.md lists what each module owns.

config.py      the typed, immutable Config of a run
training.py    main.py's run in pieces: set-up, data, state, train_one_epoch, validate, fit
steps.py       the training step behind one interface (dynamic graph, or static_training.py's oneDNN graph)
evaluation.py  test.py's video-level evaluation of a checkpoint; inference.py: a model outside training
checkpoint.py  checkpoint files, strict weight loading, and the one rule merging a checkpoint's options
optim.py, runtime.py, compat.py, logger.py, video_accuracy.py
               PyTorch-exact SGD and schedules; device, threads, the graph choice; what this Paddle can do;
               logs and VisualDL records; clip scores -> video scores and the reports (no Paddle)

Importing this package imports nothing.
"""
