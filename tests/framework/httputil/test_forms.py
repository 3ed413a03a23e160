"""Tests for framework/httputil/forms.py: form bodies (urlencoded and multipart) and ``HTTPFile``."""

from __future__ import annotations

import pytest

from framework.httputil import (
    HTTPFile,
    HTTPHeaders,
    HTTPInputError,
    ParseBodyConfig,
    ParseMultipartConfig,
    ParseUrlEncodedConfig,
    parse_body_arguments,
    parse_multipart_form_data,
    set_parse_body_config,
)
from tests.framework.httputil.bodies import FORM


@pytest.mark.parametrize("boundary", [b"1234", b'"1234"'])
def test_parse_multipart_form_data_fills_arguments_and_files(boundary: bytes) -> None:
    arguments: dict[str, list[bytes]] = {}
    files: dict[str, list[HTTPFile]] = {}
    parse_multipart_form_data(boundary, FORM, arguments, files)
    assert arguments == {"title": [b"hello"]}
    upload = files["files"][0]
    assert (upload.filename, upload.content_type, upload.body) == ("ab.txt", "text/plain", b"Foo")


def test_parse_multipart_form_data_refuses_a_truncated_body() -> None:
    with pytest.raises(HTTPInputError):
        parse_multipart_form_data(b"1234", FORM[:-10], {}, {})


def test_parse_multipart_form_data_refuses_a_boundary_with_a_quote() -> None:
    with pytest.raises(HTTPInputError):
        parse_multipart_form_data(b'12"34', FORM, {}, {})


def test_parse_body_arguments_url_encoded_and_multipart() -> None:
    arguments: dict[str, list[bytes]] = {}
    files: dict[str, list[HTTPFile]] = {}
    parse_body_arguments("application/x-www-form-urlencoded", b"a=1&a=2&b=", arguments, files)
    assert arguments == {"a": [b"1", b"2"], "b": [b""]}
    parse_body_arguments("multipart/form-data; boundary=1234", FORM, arguments, files)
    assert arguments["title"] == [b"hello"] and files["files"][0].body == b"Foo"


def test_http_file_is_a_dict_with_attributes() -> None:
    upload = HTTPFile("a.txt", "text/plain", b"data")
    assert upload["filename"] == upload.filename == "a.txt"  # the tutorial reads info["filename"]
    assert upload["content_type"] == upload.content_type == "text/plain"
    assert upload["body"] == upload.body == b"data"
    assert dict(upload) == {"filename": "a.txt", "content_type": "text/plain", "body": b"data"}


@pytest.mark.parametrize("media_type", ["application/x-www-form-urlencoded", "multipart/form-data; boundary=1234"])
@pytest.mark.parametrize("encoding", ["gzip", "identity"])
def test_parse_body_arguments_refuses_an_encoded_form_body_as_tornado_does(media_type: str, encoding: str) -> None:
    arguments: dict[str, list[bytes]] = {}
    with pytest.raises(HTTPInputError, match=f"Unsupported Content-Encoding: {encoding}") as caught:
        parse_body_arguments(media_type, b"a=1", arguments, {}, HTTPHeaders({"Content-Encoding": encoding}))
    assert caught.value.status == 400 and arguments == {}


def test_parse_body_arguments_leaves_other_bodies_alone() -> None:
    arguments: dict[str, list[bytes]] = {}
    files: dict[str, list[HTTPFile]] = {}
    parse_body_arguments("application/json", b'{"a": 1}', arguments, files, HTTPHeaders({"Content-Encoding": "gzip"}))
    parse_body_arguments("application/json", b'{"a": 1}', arguments, files)
    assert arguments == {} and files == {}
    with pytest.raises(HTTPInputError) as caught:
        parse_body_arguments("multipart/form-data; boundary=1234", b"not multipart", arguments, files)
    assert caught.value.status == 400


def multipart_fields(count: int, *, header_padding: int = 0) -> bytes:
    """A multipart body (boundary ``1234``) of ``count`` fields, each header block padded by ``header_padding`` bytes."""
    padding = f"X-Pad: {'p' * header_padding}\r\n" if header_padding else ""
    part = f'--1234\r\nContent-Disposition: form-data; name="f"\r\n{padding}\r\nv\r\n'.encode()
    return part * count + b"--1234--\r\n"


def test_parse_body_arguments_refuses_more_urlencoded_fields_than_tornado() -> None:
    arguments: dict[str, list[bytes]] = {}
    parse_body_arguments("application/x-www-form-urlencoded", b"&".join([b"a=1"] * 1000), arguments, {})
    assert len(arguments["a"]) == 1000  # Tornado's default max_arguments
    with pytest.raises(HTTPInputError, match="Max number of fields exceeded") as refused:
        parse_body_arguments("application/x-www-form-urlencoded", b"&".join([b"a=1"] * 1001), {}, {})
    assert refused.value.status == 400
    few = ParseBodyConfig(urlencoded=ParseUrlEncodedConfig(max_arguments=1))
    with pytest.raises(HTTPInputError):
        parse_body_arguments("application/x-www-form-urlencoded", b"a=1&b=2", {}, {}, config=few)


def test_parse_body_arguments_refuses_more_multipart_parts_than_tornado() -> None:
    arguments: dict[str, list[bytes]] = {}
    parse_body_arguments("multipart/form-data; boundary=1234", multipart_fields(100), arguments, {})
    assert len(arguments["f"]) == 100  # Tornado's default max_parts
    with pytest.raises(HTTPInputError, match="too many parts") as refused:
        parse_body_arguments("multipart/form-data; boundary=1234", multipart_fields(101), {}, {})
    assert refused.value.status == 400  # Tornado's status (framework.multipart's own limit says 413)
    two = ParseMultipartConfig(max_parts=2)
    with pytest.raises(HTTPInputError, match="too many parts"):
        parse_multipart_form_data(b"1234", multipart_fields(3), {}, {}, config=two)
    parse_multipart_form_data(b"1234", multipart_fields(2), {}, {}, config=two)


def test_parse_multipart_config_disables_and_bounds_part_headers() -> None:
    with pytest.raises(HTTPInputError, match="multipart/form-data parsing is disabled") as refused:
        parse_body_arguments(
            "multipart/form-data; boundary=1234", FORM, {}, {}, config=ParseBodyConfig(ParseMultipartConfig(enabled=False))
        )
    assert refused.value.status == 400
    assert ParseMultipartConfig().max_part_header_size == 8 * 1024  # stricter than Tornado's 10 KiB
    with pytest.raises(HTTPInputError) as too_large:
        parse_multipart_form_data(b"1234", multipart_fields(1, header_padding=9000), {}, {})
    assert too_large.value.status == 413
    roomy = ParseMultipartConfig(max_part_header_size=16 * 1024)
    arguments: dict[str, list[bytes]] = {}
    parse_multipart_form_data(b"1234", multipart_fields(1, header_padding=9000), arguments, {}, config=roomy)
    assert arguments == {"f": [b"v"]}


def test_set_parse_body_config_replaces_the_global_default() -> None:
    set_parse_body_config(ParseBodyConfig(multipart=ParseMultipartConfig(enabled=False)))
    try:
        with pytest.raises(HTTPInputError, match="disabled"):
            parse_body_arguments("multipart/form-data; boundary=1234", FORM, {}, {})
        with pytest.raises(HTTPInputError, match="disabled"):
            parse_multipart_form_data(b"1234", FORM, {}, {})
    finally:
        set_parse_body_config(ParseBodyConfig())
    parse_multipart_form_data(b"1234", FORM, {}, {})
