"""The data-preparation, evaluation and checkpoint-conversion scripts, at the reference's paths
(``python utils/<script>.py``), plus splits.py, the split-file parsing the annotation scripts share."""
