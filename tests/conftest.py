"""Test-suite wide configuration: the framework's own pytest fixtures (``http_server``, ``base_url``)."""

pytest_plugins = ["framework.testing"]
