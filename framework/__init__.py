"""An asynchronous web framework with Tornado's public API."""
