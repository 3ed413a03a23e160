"""The pure parts of loadtest/c10k.py: response parsing, percentiles, memory readings, the report."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# loadtest/ is a folder of scripts, not a package: c10k.py imports its siblings by path too.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "loadtest"))

import c10k
import c10k_client as client
import c10k_host as host
import c10k_report as report


def test_a_content_length_response_arrives_in_pieces() -> None:
    reader = client.ResponseReader()
    assert reader.feed(b"HTTP/1.1 200 OK\r\nContent-Len") is None
    assert reader.feed(b"gth: 5\r\nSet-Cookie: _xsrf=2|ab\r\n\r\nhel") is None
    response = reader.feed(b"lo")
    assert response == client.Response(200, [("content-length", "5"), ("set-cookie", "_xsrf=2|ab")], b"hello")
    assert response.header_values("set-cookie") == ["_xsrf=2|ab"]


def test_a_chunked_response_is_whole_only_after_the_last_chunk() -> None:
    reader = client.ResponseReader()
    assert reader.feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n") is None
    assert reader.feed(b"2;ext=1\r\nde\r\n0\r\n") is None
    response = reader.feed(b"\r\n")
    assert response is not None and response.body == b"abcde"


def test_a_response_without_a_body_length_is_empty() -> None:
    response = client.ResponseReader().feed(b"HTTP/1.1 204 No Content\r\nServer: x\r\n\r\n")
    assert response is not None and (response.status, response.body) == (204, b"")


@pytest.mark.parametrize("head", [b"SSH-2.0-OpenSSH\r\n\r\n", b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n"])
def test_a_malformed_head_is_an_error(head: bytes) -> None:
    with pytest.raises(ValueError):
        client.ResponseReader().feed(head)


def test_requests_carry_the_xsrf_token_in_a_header_and_the_cookie() -> None:
    target = client.Target.from_url("http://nginx:8080")
    request = target.post_form("/chat/a/message/updates", {"room": "r", "cursor": "7"}, cookie="_xsrf=T", xsrf="T")
    head, _, body = request.partition(b"\r\n\r\n")
    assert head.startswith(b"POST /chat/a/message/updates HTTP/1.1\r\nHost: nginx:8080\r\n")
    assert b"\r\nCookie: _xsrf=T\r\nX-XSRFToken: T" in head
    assert b"Content-Length: %d" % len(body) in head and body == b"room=r&cursor=7"


def test_percentiles_use_the_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert client.percentile(values, 0.5) == 50.0
    assert client.percentile(values, 0.99) == 99.0
    assert client.percentile([3.0], 0.99) == 3.0
    assert client.percentile([], 0.5) is None
    assert client.summarize_latencies([0.001, 0.003])["max_ms"] == 3.0


def test_memory_readings_from_cgroup_files_and_docker_stats() -> None:
    assert host.parse_memory_stat("cache 4096\nrss 8192\ntotal_rss 12288\n") == {"cache": 4096, "rss": 8192, "total_rss": 12288}
    assert host.parse_docker_size("12.5MiB / 7.6GiB") == 13_107_200
    assert host.parse_docker_size("900kB / 1GB") == 900_000
    with pytest.raises(ValueError):
        host.parse_docker_size("--")


def sample(usage: int, anon: int | None, kernel: int | None = None) -> dict[str, object]:
    return {"usage": usage, "anon": anon, "kernel": kernel, "source": "test"}


def test_memory_per_connection_is_growth_over_the_connections_held() -> None:
    memory = {
        "before": {"connections": None, "groups": {"nginx": sample(1000, 500, 10)}},
        "held": {"connections": 10, "groups": {"nginx": sample(21000, 10500, None)}},
        "polls_before": {"connections": None, "groups": {"nginx": sample(0, 0)}},
    }
    assert report.per_connection(memory) == {"hold": {"nginx": {"anon": 1000.0, "usage": 2000.0, "kernel": None}}}


def test_the_verdict_wants_every_connection_and_every_poller() -> None:
    result = {
        "hold": {"tried": 3, "held": 3, "second_request": {"answered": 2}},
        "fanout": {"tried": 2, "delivered": 2},
        "phase": "done",
    }
    assert report.verdict(result) == {"finished": True, "all_held": True, "nothing_dropped": False, "all_delivered": True}
    assert report.verdict({"phase": "hold"}) == {"finished": False}


def test_the_table_names_the_figures() -> None:
    result = {
        "url": "http://nginx:8080",
        "config": {"path": "/chat/healthz"},
        "hold": {
            "tried": 2,
            "held": 2,
            "ramp_seconds": 0.1,
            "open_errors": {},
            "probe": {"count": 1, "p50_ms": 1.0, "p99_ms": 2.0, "max_ms": 2.0, "errors": {"timeout": 1}},
            "second_request": {"answered": 2, "closed_while_idle": 0, "errors": {}},
        },
        "per_connection": {"hold": {"nginx": {"anon": 2048.0, "kernel": None, "usage": 4096.0}}},
        "memory": {"held": {"groups": {"nginx": {"source": "cgroup v2"}}}},
        "verdict": {"nothing_dropped": True},
    }
    table = report.render_table(result)
    assert "p99 2.0 ms" in table and "timeout: 1" in table
    assert "nginx      idle keep-alive      2.00        -     4.00" in table
    assert table.endswith("goals: nothing_dropped yes")


def test_only_a_loopback_url_can_meet_the_published_port_proxy() -> None:
    assert c10k.is_loopback("http://127.0.0.1:8080")
    assert c10k.is_loopback("http://localhost:8080")
    assert not c10k.is_loopback("http://nginx:8080")
    args = c10k.parse_args(["--url", "http://nginx:8080", "-n", "9000"])
    assert c10k.proxy_check(args) is None
    assert args.path == "/chat/healthz"


def test_too_few_open_files_is_said_before_anything_opens() -> None:
    message = c10k.raise_own_nofile(10**9)
    assert message is not None and "ulimit -n" in message
    assert c10k.raise_own_nofile(10) is None
