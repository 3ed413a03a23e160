"""The redirects demo's target building on its own: controls refused, input encoded for its place in the URL."""

from __future__ import annotations

import pytest

from framework.web import HTTPError
from services.redirects.targets import as_path, as_target, has_control, with_query


@pytest.mark.parametrize("text", ["\r", "\n", "\x00", "\x01", "\x0b", "\x1f", "\x7f", "\x85", "a\tb"])
def test_every_control_character_is_one(text: str) -> None:
    assert has_control(text)
    for build in (as_path, as_target, lambda t: with_query("/p", [("v", t)])):
        with pytest.raises(HTTPError) as caught:
            build(text)
        assert caught.value.status_code == 400


def test_paths_keep_slashes_and_encode_the_rest() -> None:
    assert as_path("articles/42") == "articles/42"
    assert as_path("caf\u00e9 50%?#") == "caf%C3%A9%2050%25%3F%23"


def test_targets_keep_their_query_and_escapes() -> None:
    assert as_target("/forms/?a=1&b=%20") == "/forms/?a=1&b=%20"
    assert as_target("/x?q=\u00e9 y") == "/x?q=%C3%A9%20y"


def test_query_values_cannot_add_parameters() -> None:
    assert with_query("/chain/1", [("total", "5&via=evil")]) == "/chain/1?total=5%26via%3Devil"
    assert with_query("/landed", []) == "/landed"
