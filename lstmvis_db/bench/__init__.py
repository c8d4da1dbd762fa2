"""Benchmarking: the runner (``python -m lstmvis_db.bench``), the original LSTMVis matcher rebuilt
as a yardstick (``baseline``) and synthetic LSTM-like states (``synth``).

May import the core (``api``, ``store``, ``types``, ``errors``) and ``matching``; nothing in the
core imports this package, and the CLI loads it only when ``bench`` runs.
"""
