"""Demo services built on ``framework`` only: each runs alone (``python -m services.<name>``) or behind nginx."""
