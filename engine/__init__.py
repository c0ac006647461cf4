"""The training and evaluation library behind main.py, test.py and scripts/ (no command line here).

preload.py     before_paddle: what each command sets before Paddle loads (MKL's code path, Paddle's noise off
               unless --verbose)
errors.py      UserError: the one exception for "the user must change something", and run_command, the one catch
               of every command (one 'error:' line for it, an unwritable output and SIGINT / SIGTERM)
flags.py       the one table of numeric flag constraints and the output checks, run before any work
checkpoint.py  checkpoint files, strict weight loading, and the model/data options a checkpoint carries
optim.py       SGD with PyTorch's semantics and the learning-rate schedules
runtime.py     device, CPU threads, the static oneDNN graph for inference
static_training.py  --train_graph (auto, the CPU default): training steps in a static oneDNN graph, equal to the dynamic step
logger.py      TSV logs and VisualDL scalars
training.py    train_one_epoch, validate and fit: main.py's loop
video_accuracy.py  clip scores -> video scores, top-k, val.json, per-class report (no Paddle)
evaluation.py  test.py's video-level evaluation of a checkpoint

Importing this package imports nothing; errors.py, flags.py, preload.py and video_accuracy.py load without Paddle.
"""
