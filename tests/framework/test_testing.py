"""framework.testing: the unittest-style AsyncHTTPTestCase and the fixtures, used as users would."""

from __future__ import annotations

import asyncio

import pytest
import requests

from framework.testing import AsyncHTTPTestCase, ServerThread, gen_test
from framework.web import Application, RequestHandler


class HelloHandler(RequestHandler):
    def get(self) -> None:
        self.write("Hello, " + self.get_argument("name", "world"))


class SlowHandler(RequestHandler):
    async def get(self) -> None:
        await asyncio.sleep(0.01)
        self.write("slow")


class HelloTest(AsyncHTTPTestCase):
    def get_app(self) -> Application:
        return Application([(r"/", HelloHandler), (r"/slow", SlowHandler)])

    def test_fetch_returns_the_response(self) -> None:
        response = self.fetch("/?name=tests")
        assert response.code == 200
        assert response.body == b"Hello, tests"

    def test_fetch_does_not_raise_on_error_status(self) -> None:
        assert self.fetch("/missing").code == 404

    def test_fetch_can_post(self) -> None:
        assert self.fetch("/", method="POST", body="x").code == 405

    @gen_test
    async def test_gen_test_runs_coroutines_on_the_test_loop(self) -> None:
        responses = await asyncio.gather(*(self.http_client.fetch(self.get_url("/slow")) for _ in range(3)))
        assert [r.body for r in responses] == [b"slow"] * 3




@pytest.fixture
def app() -> Application:
    return Application([(r"/", HelloHandler)])


def test_fixtures_serve_the_app(http_server: ServerThread, base_url: str) -> None:
    assert base_url == http_server.base_url
    assert requests.get(base_url + "/?name=fixture").text == "Hello, fixture"
