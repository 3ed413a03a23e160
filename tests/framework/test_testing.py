"""framework.testing, used as a Tornado user uses tornado.testing: unittest classes.

Where a test checks that another test *fails*, the other test is a class
defined inside it (so pytest does not collect it) and is run with a plain
``unittest.TestResult``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
import unittest
from collections.abc import Generator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import requests

from framework import gen
from framework.httpclient import AsyncHTTPClient, HTTPClientError
from framework.httpserver import HTTPServer
from framework.ioloop import IOLoop
from framework.log import app_log, gen_log
from framework.testing import (
    AsyncHTTPSTestCase,
    AsyncHTTPTestCase,
    AsyncTestCase,
    ExpectLog,
    ServerThread,
    bind_unused_port,
    gen_test,
    get_async_test_timeout,
)
from framework.web import Application, RequestHandler

REPO = Path(__file__).resolve().parents[2]


class HelloHandler(RequestHandler):
    def get(self) -> None:
        self.write("Hello, " + self.get_argument("name", "world"))


class SlowHandler(RequestHandler):
    async def get(self) -> None:
        await asyncio.sleep(0.01)
        self.write("slow")


class BrokenHandler(RequestHandler):
    def get(self) -> None:
        raise RuntimeError("broken on purpose")


class RemoteIPHandler(RequestHandler):
    def get(self) -> None:
        self.write(self.request.remote_ip or "")


def outcome(case: unittest.TestCase) -> unittest.TestResult:
    """Run one test case and return its result."""
    result = unittest.TestResult()
    case.run(result)
    return result


def error_text(result: unittest.TestResult) -> str:
    """The tracebacks of a result's errors and failures, joined."""
    return "\n".join(text for _, text in result.errors + result.failures)


# -- AsyncTestCase: stop, wait and the test's loop ---------------------------------------------


class StopWaitTest(AsyncTestCase):
    def test_io_loop_is_a_fresh_current_loop(self) -> None:
        assert isinstance(self.io_loop, IOLoop)
        assert IOLoop.current() is self.io_loop

    def test_wait_returns_what_stop_was_given(self) -> None:
        self.io_loop.add_callback(self.stop, 42)
        assert self.wait() == 42
        self.io_loop.add_callback(lambda: self.stop(a=1, b=2))
        assert self.wait() == {"a": 1, "b": 2}

    def test_stop_before_wait(self) -> None:
        self.stop("early")
        assert self.wait() == "early"

    def test_exception_in_callback_is_raised_by_wait(self) -> None:
        self.io_loop.add_callback(lambda: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            self.wait()

    def test_wait_times_out(self) -> None:
        with pytest.raises(self.failureException, match="timed out after 0.05 seconds"):
            self.wait(timeout=0.05)

    def test_a_second_wait_clears_the_first_timeout(self) -> None:
        self.io_loop.call_later(0.01, self.stop)
        self.wait(timeout=0.05)
        self.io_loop.call_later(0.1, self.stop)
        self.wait(timeout=1)

    def test_wait_with_a_condition_runs_until_it_holds(self) -> None:
        calls: list[int] = []

        def tick() -> None:
            calls.append(1)
            self.stop()
            if len(calls) < 3:
                self.io_loop.add_callback(tick)

        self.io_loop.add_callback(tick)
        self.wait(condition=lambda: len(calls) == 3)
        assert len(calls) == 3


class GenTestTest(AsyncTestCase):
    @gen_test
    async def test_async_def(self) -> None:
        await asyncio.sleep(0)
        assert IOLoop.current() is self.io_loop

    @gen_test
    def test_generator_coroutine(self) -> Generator[Any, Any, None]:
        yield gen.moment
        result = yield asyncio.sleep(0, result="done")
        assert result == "done"

    @gen_test(timeout=5)
    async def test_with_a_timeout(self) -> None:
        await asyncio.sleep(0.01)


# -- AsyncTestCase: what fails a test ----------------------------------------------------------


def test_an_exception_in_a_callback_nobody_waited_for_fails_the_test() -> None:
    class Case(AsyncTestCase):
        def test_it(self) -> None:
            self.io_loop.add_callback(lambda: 1 / 0)
            self.io_loop.run_sync(lambda: asyncio.sleep(0.01))

    result = outcome(Case("test_it"))
    assert "ZeroDivisionError" in error_text(result)


def test_an_exception_in_a_callback_set_up_scheduled_fails_the_test() -> None:
    class Case(AsyncTestCase):
        def setUp(self) -> None:
            super().setUp()
            self.io_loop.add_callback(lambda: {}["missing"])

        @gen_test
        async def test_it(self) -> None:
            await asyncio.sleep(0.01)

    assert "KeyError" in error_text(outcome(Case("test_it")))


def test_an_undecorated_coroutine_test_fails_instead_of_passing_unrun() -> None:
    class Case(AsyncTestCase):
        async def test_it(self) -> None:
            raise AssertionError("never runs")

    assert "should be decorated with framework.testing.gen_test" in error_text(outcome(Case("test_it")))


def test_gen_test_timeout_fails_and_says_where_the_test_waited() -> None:
    class Case(AsyncTestCase):
        @gen_test(timeout=0.1)
        async def test_it(self) -> None:
            await self.stuck()

        async def stuck(self) -> None:
            await asyncio.sleep(30)

    text = error_text(outcome(Case("test_it")))
    assert "TimeoutError: Async operation timed out after 0.1 seconds" in text
    assert "in test_it" in text and "in stuck" in text and "await asyncio.sleep(30)" in text


def test_async_test_timeout_environment_variable() -> None:
    class Case(AsyncTestCase):
        @gen_test
        async def test_it(self) -> None:
            await asyncio.sleep(30)

    with mock.patch.dict(os.environ, {"ASYNC_TEST_TIMEOUT": "0.1"}):
        assert get_async_test_timeout() == 0.1
        assert "timed out after 0.1 seconds" in error_text(outcome(Case("test_it")))
    with mock.patch.dict(os.environ, {"ASYNC_TEST_TIMEOUT": "soon"}), pytest.raises(ValueError, match="ASYNC_TEST_TIMEOUT"):
        get_async_test_timeout()
    with mock.patch.dict(os.environ, clear=True):
        assert get_async_test_timeout() == 5


def test_leftover_coroutines_are_cancelled_and_their_errors_fail_the_test() -> None:
    class Worker(AsyncTestCase):
        def setUp(self) -> None:
            super().setUp()
            self.io_loop.spawn_callback(self.forever)

        async def forever(self) -> None:
            while True:
                await asyncio.sleep(1)

        @gen_test
        async def test_it(self) -> None:
            await asyncio.sleep(0)

    class Faulty(AsyncTestCase):
        @gen_test
        async def test_it(self) -> None:
            asyncio.ensure_future(self.fails_when_cancelled())
            await asyncio.sleep(0)

        async def fails_when_cancelled(self) -> None:
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                raise ValueError("cleanup went wrong") from None

    worker = Worker("test_it")
    assert outcome(worker).wasSuccessful()
    assert worker.io_loop.asyncio_loop.is_closed()
    assert "ValueError: cleanup went wrong" in error_text(outcome(Faulty("test_it")))


def test_a_failing_set_up_still_closes_the_loop_and_the_socket() -> None:
    class Case(AsyncHTTPTestCase):
        def get_app(self) -> Application:
            raise RuntimeError("no app today")

        def test_it(self) -> None:
            raise AssertionError("never runs")

    case = Case("test_it")
    assert "no app today" in error_text(outcome(case))
    assert case.io_loop.asyncio_loop.is_closed()


# -- AsyncHTTPTestCase -------------------------------------------------------------------------


class HelloTest(AsyncHTTPTestCase):
    def get_app(self) -> Application:
        self.port_seen_by_get_app = self.get_http_port()
        return Application([(r"/", HelloHandler), (r"/slow", SlowHandler), (r"/broken", BrokenHandler)])

    def test_fetch_returns_the_response(self) -> None:
        response = self.fetch("/?name=tests")
        assert response.code == 200
        assert response.body == b"Hello, tests"

    def test_fetch_does_not_raise_on_error_status(self) -> None:
        assert self.fetch("/missing").code == 404

    def test_fetch_raises_when_asked(self) -> None:
        with pytest.raises(HTTPClientError) as info:
            self.fetch("/missing", raise_error=True)
        assert info.value.code == 404

    def test_fetch_can_post(self) -> None:
        assert self.fetch("/", method="POST", body="x").code == 405

    def test_fetch_takes_an_absolute_url(self) -> None:
        assert self.fetch(self.get_url("/?name=abs")).body == b"Hello, abs"

    def test_url_port_protocol_server_and_client(self) -> None:
        port = self.get_http_port()
        assert self.get_protocol() == "http"
        assert self.get_url("/x") == f"http://127.0.0.1:{port}/x"
        assert self.port_seen_by_get_app == port
        assert isinstance(self.http_server, HTTPServer)
        assert self.http_client is AsyncHTTPClient()  # the loop's shared client, as in Tornado

    def test_uncaught_exception_is_logged_and_expected(self) -> None:
        with ExpectLog(app_log, "Uncaught exception", level=logging.ERROR) as expected:
            assert self.fetch("/broken").code == 500
        assert expected.logged_stack

    @gen_test
    async def test_gen_test_runs_coroutines_on_the_test_loop(self) -> None:
        responses = await asyncio.gather(*(self.http_client.fetch(self.get_url("/slow")) for _ in range(3)))
        assert [r.body for r in responses] == [b"slow"] * 3


class ServerOptionsTest(AsyncHTTPTestCase):
    def get_app(self) -> Application:
        return Application([(r"/ip", RemoteIPHandler)])

    def get_httpserver_options(self) -> dict[str, Any]:
        return {"xheaders": True, "trusted_proxies": ["127.0.0.1"]}

    def test_options_reach_the_server(self) -> None:
        assert self.fetch("/ip", headers={"X-Real-Ip": "203.0.113.9"}).body == b"203.0.113.9"


class HelloHTTPSTest(AsyncHTTPSTestCase):
    def get_app(self) -> Application:
        return Application([(r"/", HelloHandler)])

    def test_fetch_over_tls_with_the_test_certificate(self) -> None:
        assert self.get_url("/").startswith("https://127.0.0.1:")
        response = self.fetch("/?name=tls")
        assert (response.code, response.body) == (200, b"Hello, tls")

    def test_the_default_certificate_ships_with_the_package(self) -> None:
        options = self.default_ssl_options()
        assert Path(options["certfile"]).is_file() and Path(options["keyfile"]).is_file()


# -- ExpectLog ---------------------------------------------------------------------------------


class ExpectLogTest(unittest.TestCase):
    def test_matching_records_are_swallowed(self) -> None:
        with self.assertNoLogs(gen_log, level=logging.DEBUG), ExpectLog(gen_log, "disk (full|gone)") as expected:
            gen_log.warning("disk full on %s", "/var")
        assert expected.matched == 1 and not expected.logged_stack

    def test_other_records_pass(self) -> None:
        with self.assertLogs(gen_log) as seen, ExpectLog(gen_log, "expected", required=False):
            gen_log.warning("something else")
        assert seen.output == ["WARNING:framework.general:something else"]

    def test_a_required_message_that_never_came_fails(self) -> None:
        missing = "did not get expected log message matching 'never'"
        with pytest.raises(AssertionError, match=missing), ExpectLog(gen_log, "never"):
            pass
        with ExpectLog(gen_log, "never", required=False):
            pass

    def test_an_exception_inside_is_not_masked(self) -> None:
        with pytest.raises(KeyError), ExpectLog(gen_log, "never"):
            raise KeyError("inner")

    def test_logged_stack(self) -> None:
        with ExpectLog("framework.general", "failed") as expected:
            try:
                raise ValueError("x")
            except ValueError:
                gen_log.exception("failed")
        assert expected.logged_stack

    def test_level_lowers_the_logger_meanwhile(self) -> None:
        logger = logging.getLogger("tests.expect_log")
        logger.setLevel(logging.WARNING)
        try:
            with ExpectLog(logger, "detail", level=logging.DEBUG) as expected:
                assert logger.isEnabledFor(logging.DEBUG)
                logger.debug("detail")
            assert expected.matched == 1 and logger.level == logging.WARNING
        finally:
            logger.setLevel(logging.NOTSET)

    def test_a_match_at_another_level_passes_with_a_warning(self) -> None:
        expected = ExpectLog(gen_log, "odd", level=logging.INFO, required=False)
        with self.assertLogs(gen_log) as seen, self.assertLogs(app_log) as warned, expected:
            gen_log.error("odd one")
        assert expected.matched == 0
        assert seen.output == ["ERROR:framework.general:odd one"]
        assert "at unexpected level (INFO vs ERROR)" in warned.output[0]


# -- bind_unused_port, main --------------------------------------------------------------------


def test_bind_unused_port_gives_a_listening_socket() -> None:
    sock, port = bind_unused_port()
    with sock:
        assert sock.getsockname() == ("127.0.0.1", port) and port > 0
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass


TEST_SCRIPT = """
import unittest
import framework.testing

class Case(unittest.TestCase):
    def test_passes(self):
        pass

    def test_{outcome}(self):
        assert {verdict}

{suite}
if __name__ == "__main__":
    framework.testing.main()
"""


def run_python(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=f"{REPO}{os.pathsep}{cwd}")
    return subprocess.run([sys.executable, *args], check=False, cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def test_main_runs_a_scripts_tests_and_takes_options(tmp_path: Path) -> None:
    (tmp_path / "passing.py").write_text(TEST_SCRIPT.format(outcome="ok", verdict="True", suite=""))
    (tmp_path / "failing.py").write_text(TEST_SCRIPT.format(outcome="fails", verdict="False", suite=""))
    suite = "def all():\n    return unittest.TestSuite([Case('test_passes')])\n"
    (tmp_path / "with_all.py").write_text(TEST_SCRIPT.format(outcome="fails", verdict="False", suite=suite))
    passing = run_python("passing.py", "--verbose", cwd=tmp_path)
    assert passing.returncode == 0 and "Ran 2 tests" in passing.stderr and "test_ok" in passing.stderr
    failing = run_python("failing.py", cwd=tmp_path)
    assert failing.returncode == 1 and "FAILED (failures=1)" in failing.stderr
    assert run_python("with_all.py", cwd=tmp_path).returncode == 0  # all() leaves the failing test out


def test_python_m_framework_testing_runs_named_tests(tmp_path: Path) -> None:
    (tmp_path / "named.py").write_text(TEST_SCRIPT.format(outcome="fails", verdict="False", suite=""))
    named = run_python("-m", "framework.testing", "named.Case.test_passes", cwd=tmp_path)
    assert named.returncode == 0 and "Ran 1 test" in named.stderr
    nothing = run_python("-m", "framework.testing", cwd=tmp_path)
    assert nothing.returncode == 1 and "No tests specified" in nothing.stderr


# -- the pytest fixtures -----------------------------------------------------------------------


@pytest.fixture
def app() -> Application:
    return Application([(r"/", HelloHandler)])


def test_fixtures_serve_the_app(http_server: ServerThread, base_url: str) -> None:
    assert base_url == http_server.base_url
    assert requests.get(base_url + "/?name=fixture", timeout=10).text == "Hello, fixture"
