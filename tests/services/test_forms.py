"""The forms demo in-process: inline errors that keep what was typed, XSRF, post/redirect/get."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests

from framework.testing import ServerThread, serve
from services.forms.app import make_app
from services.forms.validation import validate_signup

VALID = {"name": "Ada", "email": "ada@example.org", "age": "36", "topic": "framework", "message": "hi", "agree": "yes"}


@pytest.fixture
def forms() -> Iterator[ServerThread]:
    with serve(make_app(prefix="/forms/")) as server:
        yield server


def xsrf(session: requests.Session, server: ServerThread) -> str:
    page = session.get(server.url("/forms/"), timeout=10).text
    match = re.search(r'name="_xsrf" value="([^"]+)"', page)
    assert match is not None
    return match.group(1)


def test_valid_post_redirects_with_303_and_shows_the_result(forms: ServerThread) -> None:
    with requests.Session() as session:
        token = xsrf(session, forms)
        response = session.post(forms.url("/forms/"), data=dict(VALID, _xsrf=token), allow_redirects=False, timeout=10)
        assert response.status_code == 303
        done = response.headers["Location"]
        assert re.fullmatch(r"/forms/done/[A-Za-z0-9_-]{12}", done)
        page = session.get(forms.url(done), timeout=10)
        assert page.status_code == 200 and "Thank you, Ada" in page.text
        again = session.get(forms.url(done), timeout=10)  # reloading changes nothing
        assert again.status_code == 200 and again.text.count("Thank you, Ada") == 1
        assert session.get(forms.url("/forms/recent"), timeout=10).text.count("Ada") == 1
        assert "Ada" in session.get(forms.url("/forms/recent"), timeout=10).text


def test_invalid_post_shows_every_error_and_keeps_the_values(forms: ServerThread) -> None:
    bad = {"name": "", "email": "not-an-email", "age": "7", "topic": "nope", "message": "keep me <b>", "agree": ""}
    with requests.Session() as session:
        token = xsrf(session, forms)
        response = session.post(forms.url("/forms/"), data=dict(bad, _xsrf=token), timeout=10)
    assert response.status_code == 400
    text = response.text
    for field in ("name", "email", "age", "topic"):
        assert f'id="{field}-error"' in text, field
    assert "Please confirm" in text
    assert 'value="not-an-email"' in text
    assert "keep me &lt;b&gt;" in text  # kept, and escaped


def test_post_without_xsrf_token_is_refused(forms: ServerThread) -> None:
    response = requests.post(forms.url("/forms/"), data=VALID, timeout=10)
    assert response.status_code == 403


def test_search_is_a_get_form(forms: ServerThread) -> None:
    with requests.Session() as session:
        token = xsrf(session, forms)
        session.post(forms.url("/forms/"), data=dict(VALID, name="Grace Hopper", _xsrf=token), timeout=10)
        found = session.get(forms.url("/forms/search"), params={"q": "grace"}, timeout=10)
    assert "1 match for" in found.text and "Grace Hopper" in found.text


def test_unknown_result_is_404(forms: ServerThread) -> None:
    assert requests.get(forms.url("/forms/done/AAAAAAAAAAAA"), timeout=10).status_code == 404


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "x" * 81}, "name"),
        ({"email": "a@b"}, "email"),
        ({"age": "121"}, "age"),
        ({"age": "x"}, "age"),
        ({"message": "m" * 1001}, "message"),
        ({"agree": "no"}, "agree"),
        ({"topic": ""}, "topic"),
    ],
)
def test_validation_rules(changes: dict[str, str], field: str) -> None:
    signup, errors = validate_signup(dict(VALID, **changes))
    assert signup is None and set(errors) == {field}


def test_valid_signup_without_age() -> None:
    signup, errors = validate_signup(dict(VALID, age=""))
    assert errors == {} and signup is not None and signup.age is None
