"""Forms and uploads through nginx: XSRF-protected post/redirect/get, and a streamed upload verified by SHA-256."""

from __future__ import annotations

import hashlib
import os
import re

import requests

TIMEOUT = 30


def token(session: requests.Session, url: str) -> str:
    match = re.search(r'name="_xsrf" value="([^"]+)"|_xsrf=([^"&]+)', session.get(url, timeout=TIMEOUT).text)
    assert match is not None
    return match.group(1) or requests.utils.unquote(match.group(2))


def test_form_post_redirect_get_through_nginx(stack_url: str) -> None:
    with requests.Session() as session:
        xsrf = token(session, stack_url + "/forms/")
        data = {"name": "Stack", "email": "stack@example.org", "topic": "demos", "agree": "yes", "_xsrf": xsrf}
        posted = session.post(stack_url + "/forms/", data=data, allow_redirects=False, timeout=TIMEOUT)
        assert posted.status_code == 303
        assert posted.headers["Location"].startswith("/forms/done/")
        assert "Thank you, Stack" in session.get(stack_url + posted.headers["Location"], timeout=TIMEOUT).text
        assert session.post(stack_url + "/forms/", data={"name": "x"}, timeout=TIMEOUT).status_code == 403


def test_streamed_upload_through_nginx(stack_url: str) -> None:
    data = os.urandom(12 * 1024 * 1024 + 3)
    response = requests.put(stack_url + "/uploads/put/stack-test.bin", data=data, timeout=120)
    assert response.status_code == 201, response.text
    info = response.json()
    assert (info["size"], info["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
    back = requests.get(stack_url + info["url"], timeout=120)
    assert hashlib.sha256(back.content).hexdigest() == info["sha256"]


def test_multipart_upload_through_nginx(stack_url: str) -> None:
    files = [("files", (f"f{i}.bin", os.urandom(100_000 * (i + 1)))) for i in range(3)]
    with requests.Session() as session:
        page = session.get(stack_url + "/uploads/", timeout=TIMEOUT).text
        action = re.search(r'<form id="upload-form" method="post" action="([^"]+)"', page)
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page)
        assert action is not None and xsrf is not None
        assert "_xsrf" not in action.group(1)  # the token travels in the body, never in the URL
        # requests sends data fields before files: the token is the first part, as from a browser.
        response = session.post(
            stack_url + action.group(1),
            data={"_xsrf": xsrf.group(1)},
            files=files,
            headers={"Accept": "application/json"},
            timeout=120,
        )
    assert response.status_code == 200, response.text
    stored = response.json()["files"]
    assert [f["sha256"] for f in stored] == [hashlib.sha256(content).hexdigest() for _, (_, content) in files]
