"""The chat through nginx: a long poll held open by the proxy and woken by a message."""

from __future__ import annotations

import re
import threading
import uuid

import requests

TIMEOUT = 40


def test_long_poll_through_nginx(stack_url: str) -> None:
    room = "stack-" + uuid.uuid4().hex[:8]
    session = requests.Session()
    page = session.get(f"{stack_url}/chat/room/{room}", timeout=10).text
    match = re.search(r'name="_xsrf" value="([^"]+)"', page)
    assert match is not None
    token, cookies = match.group(1), {"_xsrf": session.cookies["_xsrf"]}
    session.close()
    first = requests.post(
        stack_url + "/chat/a/message/new",
        data={"room": room, "nick": "t", "body": "one", "_xsrf": token},
        cookies=cookies,
        timeout=10,
    )
    assert first.status_code == 200
    cursor = first.json()["id"]
    result: dict[str, object] = {}

    def poll() -> None:
        response = requests.post(
            stack_url + "/chat/a/message/updates",
            data={"room": room, "cursor": str(cursor), "_xsrf": token},
            cookies=cookies,
            timeout=TIMEOUT,
        )
        result["status"] = response.status_code
        result["messages"] = [m["body"] for m in response.json()["messages"]]

    poller = threading.Thread(target=poll)
    poller.start()
    # The poll is held until a message arrives; send one until the poller has it (bounded).
    for _ in range(50):
        poller.join(0.1)
        if not poller.is_alive():
            break
        requests.post(
            stack_url + "/chat/a/message/new",
            data={"room": room, "nick": "t", "body": "two", "_xsrf": token},
            cookies=cookies,
            timeout=10,
        )
        poller.join(1.0)
        if not poller.is_alive():
            break
    poller.join(TIMEOUT)
    assert result["status"] == 200
    assert result["messages"] and result["messages"][0] == "two"  # type: ignore[index]


def test_chat_pages_through_nginx(stack_url: str) -> None:
    page = requests.get(stack_url + "/chat/room/lobby", timeout=10)
    assert page.status_code == 200
    assert '"/chat/a/message/updates"' in page.text
