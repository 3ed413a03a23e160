"""Tests for framework/httputil/forms.py: form bodies (urlencoded and multipart) and ``HTTPFile``."""

from __future__ import annotations

import logging

import pytest

from framework.httputil import (
    HTTPFile,
    HTTPHeaders,
    HTTPInputError,
    parse_body_arguments,
    parse_multipart_form_data,
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


def test_parse_body_arguments_leaves_encoded_and_other_bodies_alone(caplog: pytest.LogCaptureFixture) -> None:
    arguments: dict[str, list[bytes]] = {}
    files: dict[str, list[HTTPFile]] = {}
    with caplog.at_level(logging.WARNING, logger="framework.general"):
        parse_body_arguments(
            "application/x-www-form-urlencoded", b"a=1", arguments, files, HTTPHeaders({"Content-Encoding": "gzip"})
        )
    assert arguments == {} and any("Content-Encoding" in r.getMessage() for r in caplog.records)
    parse_body_arguments("application/json", b'{"a": 1}', arguments, files)
    assert arguments == {} and files == {}
    with pytest.raises(HTTPInputError) as caught:
        parse_body_arguments("multipart/form-data; boundary=1234", b"not multipart", arguments, files)
    assert caught.value.status == 400
