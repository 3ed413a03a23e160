"""Test-suite wide configuration: the framework's own pytest fixtures (``http_server``,
``base_url``) and a self-signed certificate for the TLS tests of the client and WebSockets."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["framework.testing"]


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, made with the openssl command."""
    # Imported here: the harness imports framework.testing, which pytest_plugins loads first.
    from tests.framework.harness import self_signed_certificate

    return self_signed_certificate(tmp_path_factory.mktemp("tls"), "localhost", "IP:127.0.0.1")
