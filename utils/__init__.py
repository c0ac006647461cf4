"""Data-preparation, evaluation and conversion scripts, plus helpers shared by main.py and test.py."""
