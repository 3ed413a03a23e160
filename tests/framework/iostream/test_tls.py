"""Tests for framework/iostream/tls.py: Tornado's ``ssl_options`` dict, checked and turned into a context."""

from __future__ import annotations

import ssl

import pytest

from framework.iostream import ssl_options_to_context


def test_ssl_options_dict_is_checked() -> None:
    with pytest.raises(ValueError, match="unknown ssl_options"):
        ssl_options_to_context({"certfil": "x"}, server_side=True)
    context = ssl_options_to_context({"cert_reqs": ssl.CERT_NONE}, server_side=False)
    assert context.verify_mode == ssl.CERT_NONE and not context.check_hostname
