"""Several replicas behind nginx: chat's shared rooms, a replica lost, Redis restarted, a rolling restart.

Each test scales a service up with ``docker compose up --scale``, waits until
nginx's upstream watcher has reloaded with every replica's address, and scales
back to one replica (every container healthy) before it ends, so the tests
after it find the stack as the test command brought it up.

Chat clients come in two kinds: threads here, through nginx's public port, and
a tiny poller run inside a chat container (``docker exec ... python -``), which
reaches that one replica directly on 127.0.0.1, past nginx.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from services.catalog import SERVICES

Compose = Callable[..., subprocess.CompletedProcess[str]]

SCALE_TIMEOUT = 120
NGINX_RELOAD_TIMEOUT = 30
METRICS_OFFSET = 1000  # services/common/run.py: /metrics on the service port + 1000
SERVICE_PORTS = {service.name: service.port for service in SERVICES}
SERVICE_PREFIXES = {service.name: service.prefix for service in SERVICES}
CHAT_PORT = SERVICE_PORTS["chat"]

# Run by the container's own Python (no third-party packages there): long-polls
# BASE's chat room ROOM after CURSOR until it holds WANT messages or DEADLINE
# seconds have passed; prints {"messages": [[id, body], ...], "errors": [...]}.
# Started before the messages it waits for are posted, it prints "ready" on
# stderr once its first poll is sent.
IN_CONTAINER_POLLER = r"""
import http.cookiejar, json, re, sys, time, urllib.parse, urllib.request
base, room, cursor = sys.argv[1], sys.argv[2], sys.argv[3]
want, deadline = int(sys.argv[4]), time.monotonic() + float(sys.argv[5])
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
page = opener.open(f"{base}/room/{room}", timeout=10).read().decode()
token = re.search(r'name="_xsrf" value="([^"]+)"', page).group(1)
messages, errors = [], []
print("ready", file=sys.stderr, flush=True)
while len(messages) < want and time.monotonic() < deadline:
    data = urllib.parse.urlencode({"room": room, "cursor": cursor, "_xsrf": token}).encode()
    try:
        answer = json.load(opener.open(f"{base}/a/message/updates", data, timeout=40))
    except Exception as exc:
        errors.append(repr(exc)); time.sleep(0.5); continue
    messages += [[m["id"], m["body"]] for m in answer["messages"]]
    cursor = answer["cursor"]
    if answer.get("reconnect"):
        time.sleep(answer.get("retry_after", 1))
print(json.dumps({"messages": messages, "errors": errors}))
"""


# ---- the stack: containers, replicas, nginx's view of them -------------------------------------


def container_ids(compose: Compose, service: str) -> list[str]:
    """The service's running containers, in replica order (``--index`` 1, 2, ...)."""
    rows = [json.loads(line) for line in compose("ps", "--format", "json", service).stdout.splitlines() if line.strip()]
    rows.sort(key=lambda row: int(row["Name"].rsplit("-", 1)[1]))
    return [row["ID"] for row in rows]


def address(container: str) -> str:
    out = subprocess.run(
        ["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", container],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    return out.split()[0]


def nginx_upstream(compose: Compose, service: str) -> set[str] | None:
    """The addresses nginx last reloaded with for ``service`` (None: no reload since it started)."""
    logs = compose("logs", "--no-color", "--no-log-prefix", "nginx").stdout
    changes = [line for line in logs.splitlines() if "watch-upstreams: replicas changed" in line]
    if not changes:
        return None
    match = re.search(rf"\b{service}=([0-9.,]*)", changes[-1])
    return {a for a in match.group(1).split(",") if a} if match else None


def scale(compose: Compose, wait_for: Callable[..., bool], service: str, replicas: int) -> list[str]:
    """``--scale service=replicas``, every replica healthy and in nginx's pool; their container ids."""
    compose(
        "up",
        "-d",
        "--no-deps",
        "--no-recreate",
        "--no-build",
        "--wait",
        "--scale",
        f"{service}={replicas}",
        service,
        timeout=SCALE_TIMEOUT,
    )
    ids = container_ids(compose, service)
    assert len(ids) == replicas, ids
    wanted = {address(c) for c in ids}
    upstream: list[set[str] | None] = [None]

    def nginx_has_them() -> bool:
        upstream[0] = nginx_upstream(compose, service)
        # Never reloaded since start: nginx resolved the name once, with the one replica it had.
        return upstream[0] == wanted or (upstream[0] is None and replicas == 1)

    assert wait_for(nginx_has_them, timeout=NGINX_RELOAD_TIMEOUT, interval=0.5), (service, wanted, upstream[0])
    return ids


def all_healthy(compose: Compose) -> list[str]:
    """Names of the project's containers that are not running and healthy (empty: all are)."""
    rows = [json.loads(line) for line in compose("ps", "-a", "--format", "json").stdout.splitlines() if line.strip()]
    return [
        f"{r['Name']}: {r['State']} {r.get('Health', '')}"
        for r in rows
        if r["State"] != "running" or r.get("Health") not in ("healthy", "")
    ]


@pytest.fixture
def replicas(compose: Compose, wait_for: Callable[..., bool]) -> Iterator[Callable[[str, int], list[str]]]:
    """``replicas(service, n)``: scale up for this test; back to one replica, all healthy, afterwards."""
    scaled: list[str] = []

    def scale_to(service: str, n: int) -> list[str]:
        scaled.append(service)
        return scale(compose, wait_for, service, n)

    yield scale_to
    for service in dict.fromkeys(scaled):
        scale(compose, wait_for, service, 1)
    assert wait_for(lambda: not all_healthy(compose), timeout=60, interval=1), all_healthy(compose)


# ---- chat clients ------------------------------------------------------------------------------


@dataclass
class ChatClient:
    """A browser's worth of chat: the XSRF cookie and token, posting through nginx."""

    base: str  # e.g. http://127.0.0.1:8080/chat
    session: requests.Session = field(default_factory=requests.Session)
    token: str = ""

    def __post_init__(self) -> None:
        page = self.session.get(f"{self.base}/room/lobby", timeout=10).text
        match = re.search(r'name="_xsrf" value="([^"]+)"', page)
        assert match is not None, page[:200]
        self.token = match.group(1)

    def post(self, room: str, body: str) -> requests.Response:
        return self.session.post(
            f"{self.base}/a/message/new", data={"room": room, "nick": "t", "body": body, "_xsrf": self.token}, timeout=15
        )

    def updates(self, room: str, cursor: str) -> requests.Response:
        return self.session.post(
            f"{self.base}/a/message/updates", data={"room": room, "cursor": cursor, "_xsrf": self.token}, timeout=40
        )


class Poller(threading.Thread):
    """Long-polls one room through nginx, cursor after cursor, as the chat's page does.

    An error (the replica it sat on died: 502, a reset) or a reconnect hint
    makes it poll again with the same cursor, after a short pause. It stops once
    ``done(messages)`` is true or ``stop`` is set.
    """

    def __init__(
        self, base: str, room: str, cursor: str, done: Callable[[list[tuple[str, str]]], bool], stop: threading.Event
    ) -> None:
        super().__init__(daemon=True)
        self.client = ChatClient(base)
        self.room, self.cursor, self.done, self.stop = room, cursor, done, stop
        self.messages: list[tuple[str, str]] = []
        self.errors: list[str] = []
        self.reconnects = 0

    def run(self) -> None:
        while not self.stop.is_set() and not self.done(self.messages):
            try:
                response = self.client.updates(self.room, self.cursor)
            except requests.RequestException as exc:
                self.errors.append(type(exc).__name__)
                time.sleep(0.3)
                continue
            if response.status_code != 200:
                self.errors.append(str(response.status_code))
                time.sleep(0.3)
                continue
            answer = response.json()
            self.messages += [(m["id"], m["body"]) for m in answer["messages"]]
            self.cursor = answer["cursor"]
            if answer.get("reconnect"):
                self.reconnects += 1
                time.sleep(answer.get("retry_after", 1))


def start_in_container_poller(container: str, room: str, cursor: str, want: int, deadline: float) -> subprocess.Popen[str]:
    """The poller of ``IN_CONTAINER_POLLER`` inside ``container``, on its own replica; returns once it polls."""
    process = subprocess.Popen(
        [
            "docker",
            "exec",
            "-i",
            container,
            "python",
            "-",
            f"http://127.0.0.1:{CHAT_PORT}/chat",
            room,
            cursor,
            str(want),
            str(deadline),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None and process.stderr is not None
    process.stdin.write(IN_CONTAINER_POLLER)
    process.stdin.close()
    line = process.stderr.readline()
    assert line.strip() == "ready", line + process.stderr.read()
    return process


def in_container_result(process: subprocess.Popen[str], timeout: float) -> dict[str, list[list[str]]]:
    """What an in-container poller printed (its output is small: the pipes cannot fill)."""
    assert process.stdout is not None and process.stderr is not None
    try:
        process.wait(timeout)
    finally:
        process.kill()
        out, err = process.stdout.read(), process.stderr.read()
        process.stdout.close()
        process.stderr.close()
    assert process.returncode == 0, err
    result: dict[str, list[list[str]]] = json.loads(out)
    return result


def is_ordered(ids: list[str]) -> bool:
    """Stream ids strictly increasing: in order, none twice."""
    keys = [tuple(int(part) for part in i.split("-")) for i in ids]
    return all(a < b for a, b in itertools.pairwise(keys))


def new_room() -> str:
    return "rep-" + uuid.uuid4().hex[:10]


# ---- the tests ---------------------------------------------------------------------------------


@pytest.mark.timeout(150)
def test_pollers_on_different_replicas_get_the_same_messages_in_order(
    stack_url: str, compose: Compose, replicas: Callable[[str, int], list[str]]
) -> None:
    chats = replicas("chat", 2)
    base, room, count = stack_url + "/chat", new_room(), 20
    poster = ChatClient(base)
    first = poster.post(room, "first")
    assert first.status_code == 200, first.text
    cursor = first.json()["id"]
    direct = [start_in_container_poller(c, room, cursor, count, 40) for c in chats]
    stop = threading.Event()
    via_nginx = [Poller(base, room, cursor, lambda got: len(got) >= count, stop) for _ in range(2)]
    for poller in via_nginx:
        poller.start()

    posted: list[tuple[str, str]] = []
    for n in range(count):
        response = poster.post(room, f"m{n}")  # nginx spreads them over both replicas
        assert response.status_code == 200, response.text
        posted.append((response.json()["id"], f"m{n}"))
    results = [in_container_result(p, 50) for p in direct]
    for poller in via_nginx:
        poller.join(40)
    stop.set()

    for result in results:
        assert [(i, body) for i, body in result["messages"]] == posted, result
    for poller in via_nginx:
        assert poller.messages == posted, (poller.messages, poller.errors)


@pytest.mark.timeout(150)
def test_replica_killed_mid_poll_its_pollers_miss_nothing(
    stack_url: str, compose: Compose, replicas: Callable[[str, int], list[str]], wait_for: Callable[..., bool]
) -> None:
    chats = replicas("chat", 2)
    base, room = stack_url + "/chat", new_room()
    poster = ChatClient(base)
    first = poster.post(room, "first")
    cursor = first.json()["id"]
    acknowledged: list[tuple[str, str]] = []
    stop = threading.Event()

    def saw_the_end(got: list[tuple[str, str]]) -> bool:
        return any(body == "end" for _, body in got)

    # Round robin puts about half of them on the replica about to die.
    pollers = [Poller(base, room, cursor, saw_the_end, stop) for _ in range(10)]
    for poller in pollers:
        poller.start()
    time.sleep(1.0)  # every poller is waiting in a long poll
    failed_posts, t0 = 0, time.monotonic()
    try:
        for n in range(30):
            if n == 10:
                subprocess.run(["docker", "kill", chats[-1]], capture_output=True, timeout=30, check=True)
            response = poster.post(room, f"k{n}")
            if response.status_code == 200:
                acknowledged.append((response.json()["id"], f"k{n}"))
            else:
                failed_posts += 1
            time.sleep(0.1)
        # The last message, posted after every other was answered: a poller that has it has all before it.
        assert wait_for(lambda: poster.post(room, "end").status_code == 200, timeout=20)
    finally:
        posted_after = time.monotonic() - t0
        assert wait_for(lambda: all(not p.is_alive() for p in pollers), timeout=60), "pollers still waiting"
        stop.set()
    delivered_after = time.monotonic() - t0

    print(
        f"replica killed: {len(acknowledged)} posts acknowledged, {failed_posts} failed, "
        f"{len(moved := [p for p in pollers if p.errors])} of {len(pollers)} pollers moved "
        f"({sorted({e for p in pollers for e in p.errors})}), posting took {posted_after:.1f} s, "
        f"all delivered after {delivered_after:.1f} s"
    )
    assert len(acknowledged) >= 25, failed_posts  # posts that reach a dead replica's address move on
    assert moved, "no poller sat on the killed replica"
    for poller in pollers:
        ids = [i for i, _ in poller.messages]
        assert set(acknowledged) <= set(poller.messages), (poller.errors, len(poller.messages))
        assert is_ordered(ids), ids


@pytest.mark.timeout(150)
def test_redis_restart_under_load_loses_no_acknowledged_message(
    stack_url: str, compose: Compose, replicas: Callable[[str, int], list[str]], wait_for: Callable[..., bool]
) -> None:
    replicas("chat", 2)
    base = stack_url + "/chat"
    rooms = [new_room() for _ in range(3)]
    acknowledged: dict[str, list[str]] = {room: [] for room in rooms}
    refused: dict[int | str, int] = {}
    stop = threading.Event()

    def post_until_stopped(room: str) -> None:
        client, n = ChatClient(base), 0
        while not stop.is_set():
            n += 1
            try:
                response = client.post(room, f"{room}-{n}")
            except requests.RequestException as exc:
                refused[type(exc).__name__] = refused.get(type(exc).__name__, 0) + 1
                continue
            if response.status_code == 200:
                acknowledged[room].append(response.json()["id"])
            else:
                refused[response.status_code] = refused.get(response.status_code, 0) + 1
                if response.status_code == 503:
                    assert response.headers.get("Retry-After"), response.headers
            time.sleep(0.05)

    posters = [threading.Thread(target=post_until_stopped, args=(room,), daemon=True) for room in rooms]
    for poster in posters:
        poster.start()
    try:
        assert wait_for(lambda: all(len(ids) >= 5 for ids in acknowledged.values()), timeout=20), acknowledged
        compose("restart", "redis", timeout=60)
        assert wait_for(lambda: "healthy" in compose("ps", "--format", "{{.Health}}", "redis").stdout, timeout=30)
        before = sum(map(len, acknowledged.values()))
        assert wait_for(lambda: sum(map(len, acknowledged.values())) >= before + 10, timeout=30), refused
    finally:
        stop.set()
        for poster in posters:
            poster.join(20)

    for room, ids in acknowledged.items():
        stored = stream_ids(compose, room)
        assert set(ids) <= set(stored), (room, sorted(set(ids) - set(stored))[:5], refused)
        assert len(stored) < 200, "the room's history was trimmed: the check needs fewer posts"
    print(f"redis restart: {sum(map(len, acknowledged.values()))} acknowledged, 0 lost; refused {refused}")


def stream_ids(compose: Compose, room: str) -> list[str]:
    """The ids in the room's Redis stream, read with redis-cli (entries: id, then nick, body, at pairs)."""
    out = compose("exec", "-T", "redis", "redis-cli", "XRANGE", f"chat:room:{room}", "-", "+").stdout
    lines = out.splitlines()
    return [lines[i] for i in range(0, len(lines), 7)]


@pytest.mark.timeout(150)
def test_restarting_one_of_two_replicas_fails_no_request(
    stack_url: str, compose: Compose, replicas: Callable[[str, int], list[str]], wait_for: Callable[..., bool]
) -> None:
    portals = replicas("portal", 2)
    statuses: dict[int, int] = {}
    broken: list[str] = []
    lock, stop = threading.Lock(), threading.Event()

    def keep_alive_client() -> None:
        with requests.Session() as session:
            while not stop.is_set():
                try:
                    status = session.get(stack_url + "/sleep?ms=50", timeout=20).status_code
                except requests.RequestException as exc:
                    with lock:
                        broken.append(f"{type(exc).__name__}: {exc}")
                    continue
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1

    clients = [threading.Thread(target=keep_alive_client, daemon=True) for _ in range(10)]
    for client in clients:
        client.start()
    try:
        assert wait_for(lambda: statuses.get(200, 0) >= 50, timeout=20), statuses
        subprocess.run(["docker", "restart", "-t", "15", portals[-1]], capture_output=True, timeout=60, check=True)
        # Back in the pool: healthy, and nginx reloaded with both addresses again.
        wanted = {address(c) for c in portals}
        assert wait_for(lambda: nginx_upstream(compose, "portal") == wanted and not all_healthy(compose), timeout=60)
        served = statuses.get(200, 0)
        assert wait_for(lambda: statuses.get(200, 0) >= served + 100, timeout=20), statuses
    finally:
        stop.set()
        for client in clients:
            client.join(25)
    assert not broken, broken[:5]
    assert set(statuses) == {200}, statuses
    print(f"rolling restart of one portal replica: {statuses}")


@pytest.mark.parametrize("service", sorted(SERVICE_PORTS))
def test_metrics_parse_as_prometheus_text(compose: Compose, stack_url: str, service: str) -> None:
    port = SERVICE_PORTS[service] + METRICS_OFFSET
    # From another container on the compose network (the portal's), by the service's name.
    fetch = f"import urllib.request; print(urllib.request.urlopen('http://{service}:{port}/metrics', timeout=10).read().decode())"
    text = compose("exec", "-T", "portal", "python", "-c", fetch).stdout
    families = {family.name: family for family in text_string_to_metric_families(text)}
    assert "http_requests" in families, sorted(families)
    assert "http_request_duration_seconds" in families, sorted(families)
    # Never on the public port: nginx routes /metrics (under each prefix) to the service's public port.
    public = requests.get(stack_url + SERVICE_PREFIXES[service] + "metrics", timeout=10)
    assert public.status_code == 404
