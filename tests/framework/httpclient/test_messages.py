"""Tests for framework/httpclient/messages.py: what a fetch yields, responses and errors."""

from __future__ import annotations

import pytest

from framework.httpclient import (
    HTTPClientError,
    HTTPError,
)
from tests.framework.harness import run
from tests.framework.httpclient.servers import (
    Server,
    client,
    keep_alive,
    response,
)

def test_raise_error_true_and_false() -> None:
    respond = lambda r: response(404, b"missing", reason="Not Found")  # noqa: E731

    async def main() -> None:
        async with Server(keep_alive(respond)) as server, client() as http:
            with pytest.raises(HTTPError) as info:
                await http.fetch(server.url())
            assert info.value.code == 404 and str(info.value) == "HTTP 404: Not Found"
            assert info.value.response is not None and info.value.response.body == b"missing"
            resp = await http.fetch(server.url(), raise_error=False)
            assert resp.code == 404 and isinstance(resp.error, HTTPClientError)
            with pytest.raises(HTTPClientError):
                resp.rethrow()

    run(main)
