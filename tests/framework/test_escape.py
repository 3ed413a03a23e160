"""Tests for framework.escape (mirrors tornado.escape)."""

from __future__ import annotations

import json

import pytest

from framework import escape
from framework.escape import (
    json_decode,
    json_encode,
    linkify,
    native_str,
    recursive_unicode,
    squeeze,
    to_basestring,
    to_unicode,
    url_escape,
    url_unescape,
    utf8,
    xhtml_escape,
    xhtml_unescape,
)

# -- str / bytes ---------------------------------------------------------------


def test_utf8_encodes_str_and_passes_bytes_and_none() -> None:
    assert utf8("é") == b"\xc3\xa9"
    assert utf8(b"\xff") == b"\xff"
    assert utf8(None) is None


def test_to_unicode_decodes_bytes_and_passes_str_and_none() -> None:
    assert to_unicode(b"\xc3\xa9") == "é"
    assert to_unicode("x") == "x"
    assert to_unicode(None) is None


def test_aliases_are_to_unicode() -> None:
    assert native_str is to_unicode
    assert to_basestring is to_unicode


@pytest.mark.parametrize("bad", [1, 1.5, ["a"], object()])
def test_conversions_reject_other_types(bad: object) -> None:
    with pytest.raises(TypeError):
        utf8(bad)  # type: ignore[call-overload]
    with pytest.raises(TypeError):
        to_unicode(bad)  # type: ignore[call-overload]


def test_to_unicode_rejects_invalid_utf8() -> None:
    with pytest.raises(UnicodeDecodeError):
        to_unicode(b"\xff")


def test_recursive_unicode_walks_containers() -> None:
    data = {b"k": [b"a", (b"b", 1)], "s": b"\xc3\xa9"}
    assert recursive_unicode(data) == {"k": ["a", ("b", 1)], "s": "é"}


# -- HTML ----------------------------------------------------------------------


def test_xhtml_escape_escapes_all_five_characters() -> None:
    assert xhtml_escape("<a href=\"x\">Tom & 'Jerry'</a>") == (
        "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#x27;Jerry&#x27;&lt;/a&gt;"
    )


def test_xhtml_escape_accepts_bytes_and_returns_str() -> None:
    assert xhtml_escape(b"<b>") == "&lt;b&gt;"


@pytest.mark.parametrize(
    ("escaped", "plain"),
    [
        ("&lt;&gt;&amp;&quot;", '<>&"'),
        ("&#39;&#x27;&#X27;", "'''"),
        ("&eacute;&copy;", "é©"),
        ("&bogus; &#xZZ;", "&bogus; &#xZZ;"),
        (b"&amp;", "&"),
    ],
)
def test_xhtml_unescape_handles_named_and_numeric(escaped: str | bytes, plain: str) -> None:
    assert xhtml_unescape(escaped) == plain


def test_xhtml_round_trip() -> None:
    text = "<script>alert('x&y')</script>"
    assert xhtml_unescape(xhtml_escape(text)) == text


# -- JSON ----------------------------------------------------------------------


def test_json_encode_escapes_script_close() -> None:
    encoded = json_encode({"html": "</script><script>evil()</script>"})
    assert "</" not in encoded
    assert json.loads(encoded) == {"html": "</script><script>evil()</script>"}


def test_json_decode_accepts_str_and_bytes() -> None:
    assert json_decode('{"a": [1, 2]}') == {"a": [1, 2]}
    assert json_decode('"\u00e9"'.encode()) == "é"


def test_json_decode_rejects_invalid() -> None:
    with pytest.raises(ValueError):
        json_decode("{not json")


# -- URLs ----------------------------------------------------------------------


def test_url_escape_plus_mode_is_for_queries() -> None:
    assert url_escape("a b/c&d=é") == "a+b%2Fc%26d%3D%C3%A9"


def test_url_escape_without_plus_is_for_paths() -> None:
    assert url_escape("a b/c", plus=False) == "a%20b/c"


def test_url_unescape_plus_handling() -> None:
    assert url_unescape("a+b%2B%C3%A9") == "a b+é"
    assert url_unescape("a+b%20c", plus=False) == "a+b c"


def test_url_unescape_without_encoding_returns_bytes() -> None:
    assert url_unescape(b"%FF+x", encoding=None) == b"\xff x"


def test_url_unescape_other_encoding() -> None:
    assert url_unescape("%E9", encoding="latin-1") == "é"


def test_url_round_trip() -> None:
    text = "q=1&r=a b+c/é"
    assert url_unescape(url_escape(text)) == text
    assert url_unescape(url_escape(text, plus=False), plus=False) == text


# -- squeeze -------------------------------------------------------------------


def test_squeeze_collapses_whitespace() -> None:
    assert squeeze("  a \t\n b\r\n\x00c  ") == "a b c"


# -- linkify -------------------------------------------------------------------


def test_linkify_basic() -> None:
    assert linkify("Hello http://example.com!") == ('Hello <a href="http://example.com">http://example.com</a>!')


def test_linkify_escapes_surrounding_text() -> None:
    out = linkify("<b>see</b> https://example.com/?a=1&b=2")
    assert out.startswith("&lt;b&gt;see&lt;/b&gt; ")
    assert 'href="https://example.com/?a=1&amp;b=2"' in out
    assert "<b>" not in out


def test_linkify_adds_http_to_bare_www() -> None:
    assert linkify("go to www.example.com now") == ('go to <a href="http://www.example.com">www.example.com</a> now')


def test_linkify_require_protocol_skips_bare_hosts() -> None:
    assert linkify("www.example.com", require_protocol=True) == "www.example.com"


def test_linkify_only_permitted_protocols() -> None:
    assert linkify("javascript:alert(1)") == "javascript:alert(1)"
    assert linkify("ftp://example.com/f") == "ftp://example.com/f"
    assert linkify("ftp://example.com/f", permitted_protocols=["ftp"]) == (
        '<a href="ftp://example.com/f">ftp://example.com/f</a>'
    )


def test_linkify_trims_trailing_punctuation_and_unbalanced_parens() -> None:
    assert linkify("(see http://example.com/x).") == ('(see <a href="http://example.com/x">http://example.com/x</a>).')
    wiki = "http://en.wikipedia.org/wiki/Foo_(bar)"
    assert linkify(wiki) == f'<a href="{wiki}">{wiki}</a>'


def test_linkify_does_not_break_out_of_attributes() -> None:
    out = linkify('http://example.com/"onmouseover="evil()')
    assert 'onmouseover="' not in out
    assert out.startswith('<a href="http://example.com/">')


def test_linkify_extra_params_string_and_callable() -> None:
    assert linkify("http://a.com", extra_params='rel="nofollow"') == ('<a href="http://a.com" rel="nofollow">http://a.com</a>')

    def params(href: str) -> str:
        return 'class="internal"' if "a.com" in href else 'class="external"'

    assert 'class="external"' in linkify("http://b.com", extra_params=params)


def test_linkify_shorten_long_urls() -> None:
    url = "http://www.example.com/articles/2012/08/22/a-very-long-title"
    out = linkify(url, shorten=True)
    assert f'href="{url}"' in out
    assert f'title="{url}"' in out
    label = out.split(">", 1)[1].rsplit("<", 1)[0]
    assert label.endswith("...")
    assert len(label) < len(url)
    assert not label.startswith("http")


def test_linkify_shorten_leaves_short_urls() -> None:
    assert linkify("http://a.com", shorten=True) == '<a href="http://a.com">http://a.com</a>'


def test_linkify_plain_text_unchanged_but_escaped() -> None:
    assert linkify("ratio 3:4 & more") == "ratio 3:4 &amp; more"


def test_all_names_exist() -> None:
    for name in escape.__all__:
        assert hasattr(escape, name)
