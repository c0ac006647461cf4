"""Learning parity with the PyTorch reference: its models and training loop re-implemented in PyTorch
(torch_reference_models.py, torch_reference_training.py), the seed-level harness (harness.py) and the
diagnostics behind docs/PARITY.md (checks.py)."""
