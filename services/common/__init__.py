"""What every demo service shares: the look, the base handler, /healthz, the demo list and ``run()``."""
