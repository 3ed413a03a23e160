"""The chat demo in-process, against both room stores: messages, long polls woken by new messages, abandoned polls, drain.

The last section is the chat on Redis only: two instances sharing one Redis,
and Redis going away and coming back.
"""

from __future__ import annotations

import contextlib
import re
import socket
import time
import urllib.parse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

import pytest
import requests

from framework.lifecycle import Lifecycle
from framework.options import OptionParser
from framework.testing import ServerThread, serve
from framework.web import Application
from services.chat.app import RETRY_AFTER, define_options, make_app
from services.chat.redis_rooms import RedisRooms
from services.chat.rooms import MAX_ROOMS, MemoryRooms, RoomStore
from services.common import metrics
from services.common.run import APP_OPTIONS


@pytest.fixture(params=["memory", "redis"])
def chat_settings(request: pytest.FixtureRequest) -> dict[str, str]:
    """``make_app`` settings choosing the store: none (memory, the default), or ``redis_url``."""
    if request.param == "memory":
        return {}
    url: str = request.getfixturevalue("redis_url")
    return {"redis_url": url}


@contextlib.contextmanager
def serve_chat(app: Application) -> Iterator[ServerThread]:
    """``serve(app)``, closing its room store on the server's loop before the server stops."""
    with serve(app) as server:
        try:
            yield server
        finally:
            server.run(app.settings["rooms"].close)


@pytest.fixture
def chat(chat_settings: dict[str, str]) -> Iterator[tuple[ServerThread, Application]]:
    app = make_app(prefix="/chat/", **chat_settings)
    with serve_chat(app) as server:
        yield server, app


_tokens: dict[int, tuple[str, str]] = {}


def post(server: ServerThread, path: str, **data: str) -> requests.Response:
    """POST as the room page's script does: with the XSRF cookie and token."""
    if server.port not in _tokens:
        with requests.Session() as session:
            page = session.get(server.url("/chat/room/lobby"), timeout=10).text
            match = re.search(r'name="_xsrf" value="([^"]+)"', page)
            assert match is not None
            _tokens[server.port] = (session.cookies["_xsrf"], match.group(1))
    cookie, token = _tokens[server.port]
    return requests.post(
        server.url("/chat/a/message/" + path), data=dict(data, _xsrf=token), cookies={"_xsrf": cookie}, timeout=40
    )


def test_posting_without_the_xsrf_token_is_refused(chat: tuple[ServerThread, Application]) -> None:
    server, _ = chat
    response = requests.post(server.url("/chat/a/message/new"), data={"room": "x", "nick": "n", "body": "b"}, timeout=10)
    assert response.status_code == 403


def waiters(app: Application, room: str) -> int:
    rooms: RoomStore = app.settings["rooms"]
    return rooms.waiting(room)


def room_count(server: ServerThread, app: Application) -> int:
    rooms: RoomStore = app.settings["rooms"]
    return len(server.run(rooms.names))


def wait_until(predicate, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_new_message_and_history(chat: tuple[ServerThread, Application]) -> None:
    server, _ = chat
    sent = post(server, "new", room="lobby", nick="ana", body="hello")
    assert sent.status_code == 200
    message = sent.json()
    assert (message["nick"], message["body"]) == ("ana", "hello")
    updates = post(server, "updates", room="lobby", cursor="0").json()
    assert [m["body"] for m in updates["messages"]] == ["hello"]
    assert updates["cursor"] == message["id"] and isinstance(message["id"], str)
    assert updates["reconnect"] is False
    page = requests.get(server.url("/chat/room/lobby"), timeout=10)
    assert page.status_code == 200 and "hello" in page.text


def test_long_poll_is_woken_by_a_new_message(chat: tuple[ServerThread, Application]) -> None:
    server, app = chat
    first = post(server, "new", room="r1", nick="ana", body="one").json()
    waiting_before = metrics.longpoll_waiters.value
    with ThreadPoolExecutor(2) as pool:
        polls = [pool.submit(post, server, "updates", room="r1", cursor=first["id"]) for _ in range(2)]
        assert wait_until(lambda: waiters(app, "r1") == 2)
        assert metrics.longpoll_waiters.value == waiting_before + 2  # the /metrics gauge
        second = post(server, "new", room="r1", nick="bo", body="two").json()
        results = [p.result(timeout=20).json() for p in polls]
    assert all([m["body"] for m in r["messages"]] == ["two"] for r in results)
    assert all(r["cursor"] == second["id"] for r in results)
    assert waiters(app, "r1") == 0
    assert wait_until(lambda: metrics.longpoll_waiters.value == waiting_before)


def test_rooms_are_separate(chat: tuple[ServerThread, Application]) -> None:
    server, _ = chat
    post(server, "new", room="a", nick="x", body="in a")
    post(server, "new", room="b", nick="x", body="in b")
    assert [m["body"] for m in post(server, "updates", room="a", cursor="0").json()["messages"]] == ["in a"]
    assert [m["body"] for m in post(server, "updates", room="b", cursor="0").json()["messages"]] == ["in b"]


def test_abandoned_poll_leaves_nothing_behind(chat: tuple[ServerThread, Application]) -> None:
    server, app = chat
    newest = post(server, "new", room="gone", nick="x", body="m").json()["id"]
    cookie, token = _tokens[server.port]
    body = urllib.parse.urlencode({"room": "gone", "cursor": newest, "_xsrf": token}).encode()
    request = (
        b"POST /chat/a/message/updates HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Cookie: _xsrf=" + cookie.encode() + b"\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    for _ in range(20):
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(request)
            assert wait_until(lambda: waiters(app, "gone") >= 1)
    assert wait_until(lambda: waiters(app, "gone") == 0), waiters(app, "gone")


def test_drain_answers_waiting_polls(chat_settings: dict[str, str]) -> None:
    lifecycle = Lifecycle()
    app = make_app(prefix="/chat/", lifecycle=lifecycle, **chat_settings)
    with serve_chat(app) as server, ThreadPoolExecutor(1) as pool:
        newest = post(server, "new", room="d", nick="x", body="m").json()["id"]
        poll = pool.submit(post, server, "updates", room="d", cursor=newest)
        assert wait_until(lambda: waiters(app, "d") == 1)
        server.io_loop.add_callback(lifecycle.begin_drain)  # type: ignore[union-attr]
        answer = poll.result(timeout=20).json()
    assert answer == {"messages": [], "cursor": newest, "reconnect": True, "retry_after": 1}


@pytest.mark.parametrize(
    ("data", "status"),
    [
        ({"room": "Bad Room!", "nick": "x", "body": "m"}, 400),
        ({"room": "ok", "nick": "x", "body": "   "}, 400),
        ({"room": "ok", "nick": "x", "body": "x" * 2001}, 400),
        ({"room": "ok", "nick": "x"}, 400),
    ],
)
def test_bad_messages_are_refused(chat: tuple[ServerThread, Application], data: dict[str, str], status: int) -> None:
    server, _ = chat
    assert post(server, "new", **data).status_code == status


def test_messages_are_escaped_on_the_page(chat: tuple[ServerThread, Application]) -> None:
    server, _ = chat
    post(server, "new", room="xss", nick="<b>n</b>", body="<script>alert(1)</script>")
    page = requests.get(server.url("/chat/room/xss"), timeout=10).text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_index_redirects_to_the_room(chat: tuple[ServerThread, Application]) -> None:
    server, _ = chat
    response = requests.get(server.url("/chat/?room=Lobby"), allow_redirects=False, timeout=10)
    assert (response.status_code, response.headers["Location"]) == (302, "/chat/room/lobby")


def test_reading_rooms_creates_none_so_gets_cannot_use_up_the_cap(chat: tuple[ServerThread, Application]) -> None:
    server, app = chat
    with requests.Session() as session:
        for i in range(MAX_ROOMS + 10):
            page = session.get(server.url(f"/chat/room/probe-{i}"), timeout=10)
            assert page.status_code == 200 and 'id="messages"' in page.text
        assert session.get(server.url("/chat/?room=probe-x"), allow_redirects=False, timeout=10).status_code == 302
    assert room_count(server, app) == 0
    assert post(server, "new", room="real-users", nick="ana", body="hi").status_code == 200
    assert room_count(server, app) == 1


def test_a_poll_on_a_new_room_is_answered_by_its_first_message(chat: tuple[ServerThread, Application]) -> None:
    server, app = chat
    post(server, "new", room="lobby", nick="x", body="warm up the token")
    with ThreadPoolExecutor(1) as pool:
        poll = pool.submit(post, server, "updates", room="fresh", cursor="0")
        time.sleep(0.2)
        assert not poll.done() and room_count(server, app) == 1
        post(server, "new", room="fresh", nick="ana", body="first")
        answer = poll.result(timeout=20).json()
    assert [m["body"] for m in answer["messages"]] == ["first"]


def test_a_full_house_is_a_503(monkeypatch: pytest.MonkeyPatch, chat: tuple[ServerThread, Application]) -> None:
    from services.chat import rooms as rooms_module

    monkeypatch.setattr(rooms_module, "MAX_ROOMS", 2)
    server, _ = chat
    assert post(server, "new", room="one", nick="x", body="m").status_code == 200
    assert post(server, "new", room="two", nick="x", body="m").status_code == 200
    assert post(server, "new", room="three", nick="x", body="m").status_code == 503
    assert post(server, "new", room="one", nick="x", body="still fine").status_code == 200


def test_the_room_page_carries_the_cursor(chat: tuple[ServerThread, Application]) -> None:
    server, _ = chat
    assert 'data-cursor="0"' in requests.get(server.url("/chat/room/empty"), timeout=10).text
    newest = post(server, "new", room="full", nick="x", body="m").json()["id"]
    assert f'data-cursor="{newest}"' in requests.get(server.url("/chat/room/full"), timeout=10).text


@pytest.mark.parametrize("cursor", ["-1", "x", "9" * 21, "9" * 3000, "1-2-3"])
def test_bad_cursors_are_a_400(chat: tuple[ServerThread, Application], cursor: str) -> None:
    server, _ = chat
    assert post(server, "updates", room="lobby", cursor=cursor).status_code == 400


# -- the chat on Redis ---------------------------------------------------------


@pytest.mark.parametrize("spelling", ["--redis_url", "--redis-url"])
def test_the_redis_url_option_picks_the_store(spelling: str) -> None:
    parser = OptionParser()
    define_options(parser)
    parser.parse_command_line(["chat", f"{spelling}=redis://127.0.0.1:1/0"])
    settings = parser.group_dict(APP_OPTIONS)  # as services.common.run passes them to make_app
    assert list(settings.values()) == ["redis://127.0.0.1:1/0"]
    app = make_app(**settings)
    assert isinstance(app.settings["rooms"], RedisRooms)
    assert not {"redis_url", "redis-url"} & set(app.settings)
    assert isinstance(make_app(redis_url="").settings["rooms"], MemoryRooms)


def bodies(answer: requests.Response) -> list[str]:
    return [m["body"] for m in answer.json()["messages"]]


def test_two_instances_sharing_a_redis_see_each_others_messages(redis_url: str) -> None:
    apps = [make_app(prefix="/chat/", redis_url=redis_url) for _ in range(2)]
    with serve_chat(apps[0]) as a, serve_chat(apps[1]) as b, ThreadPoolExecutor(4) as pool:
        first = post(a, "new", room="shared", nick="ana", body="one").json()
        polls = [pool.submit(post, server, "updates", room="shared", cursor=first["id"]) for server in (a, a, b, b)]
        assert wait_until(lambda: waiters(apps[0], "shared") == 2 and waiters(apps[1], "shared") == 2)
        second = post(b, "new", room="shared", nick="bo", body="two").json()
        answers = [p.result(timeout=20) for p in polls]
        assert [bodies(answer) for answer in answers] == [["two"]] * 4
        assert {answer.json()["cursor"] for answer in answers} == {second["id"]}
        for i, server in enumerate((a, b, a, b)):
            assert post(server, "new", room="shared", nick="x", body=str(i)).status_code == 200
        expected = ["two", "0", "1", "2", "3"]
        assert bodies(post(a, "updates", room="shared", cursor=first["id"])) == expected
        assert bodies(post(b, "updates", room="shared", cursor=first["id"])) == expected
        assert "shared" in requests.get(b.url("/chat/"), timeout=10).text


class RedisServer(Protocol):
    """The ``durable_redis`` fixture (tests/services/conftest.py): a Redis this test stops and restarts."""

    @property
    def url(self) -> str: ...

    def stop(self, *, kill: bool = False) -> None: ...

    def start(self) -> object: ...


def test_redis_going_away_and_coming_back(durable_redis: RedisServer) -> None:
    app = make_app(prefix="/chat/", redis_url=durable_redis.url)
    reconnect = {"messages": [], "reconnect": True, "retry_after": RETRY_AFTER}
    with serve_chat(app) as server, ThreadPoolExecutor(1) as pool:
        first = post(server, "new", room="r", nick="x", body="before").json()
        poll = pool.submit(post, server, "updates", room="r", cursor=first["id"])
        assert wait_until(lambda: waiters(app, "r") == 1)

        durable_redis.stop(kill=True)
        # The waiting poll is told to come back, with its cursor unchanged; so is a new one, at once.
        assert poll.result(timeout=20).json() == dict(reconnect, cursor=first["id"])
        assert post(server, "updates", room="r", cursor=first["id"]).json() == dict(reconnect, cursor=first["id"])
        refused = post(server, "new", room="r", nick="x", body="while down")
        assert (refused.status_code, refused.headers.get("Retry-After")) == (503, str(RETRY_AFTER))
        page = requests.get(server.url("/chat/room/r"), timeout=10)
        assert (page.status_code, page.headers.get("Retry-After")) == (503, str(RETRY_AFTER))

        durable_redis.start()
        # The service recovers by itself: a post is taken again, polls are served again.
        assert wait_until(lambda: post(server, "new", room="r", nick="x", body="after").status_code == 200, timeout=20)
        assert wait_until(lambda: not post(server, "updates", room="r", cursor="0").json()["reconnect"], timeout=20)
        answer = post(server, "updates", room="r", cursor=first["id"]).json()
        assert [m["body"] for m in answer["messages"]] == ["after"]
        poll = pool.submit(post, server, "updates", room="r", cursor=answer["cursor"])
        assert wait_until(lambda: waiters(app, "r") == 1)
        assert post(server, "new", room="r", nick="x", body="woken").status_code == 200
        assert bodies(poll.result(timeout=20)) == ["woken"]


def test_no_acknowledged_message_is_lost_when_redis_dies(durable_redis: RedisServer) -> None:
    app = make_app(prefix="/chat/", redis_url=durable_redis.url)
    acknowledged: list[str] = []
    refused = 0
    with serve_chat(app) as server:
        post(server, "new", room="log", nick="x", body="start")
        for i in range(150):
            if i == 50:
                durable_redis.stop(kill=True)
            if i == 100:
                durable_redis.start()
            answer = post(server, "new", room="log", nick="x", body=f"m{i}")
            if answer.status_code == 200:
                acknowledged.append(f"m{i}")
            else:
                assert answer.status_code == 503
                refused += 1
            if 100 <= i < 110:
                time.sleep(0.2)  # give the reconnect a moment, so messages are taken after the restart too
        stored = [m["body"] for m in post(server, "updates", room="log", cursor="0").json()["messages"]]
    assert refused >= 50 and len(acknowledged) > 50
    assert [body for body in stored if body != "start"] == acknowledged
