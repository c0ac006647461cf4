"""The user commands beside main.py and test.py: the demo, predicting a raw video, exporting for
paddle.inference, the demo dataset (run as `python scripts/<name>.py`)."""
