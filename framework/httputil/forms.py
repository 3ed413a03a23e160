"""Form bodies: urlencoded and multipart arguments, and the uploaded files (``HTTPFile``) they carry."""

from __future__ import annotations

import logging
from typing import Any

from framework import multipart
from framework.httputil.errors import HTTPInputError
from framework.httputil.headers import HTTPHeaders
from framework.httputil.query import parse_qs_bytes

gen_log = logging.getLogger("framework.general")


class HTTPFile(dict[str, Any]):
    """An uploaded file: ``filename``, ``content_type`` and ``body``.

    A dict (the tutorial reads ``info["filename"]``) whose keys are also
    attributes (``info.filename``), as Tornado's ``HTTPFile`` is.
    """

    def __init__(self, filename: str, content_type: str, body: bytes) -> None:
        super().__init__(filename=filename, content_type=content_type, body=body)

    @property
    def filename(self) -> str:
        return str(self["filename"])

    @property
    def content_type(self) -> str:
        return str(self["content_type"])

    @property
    def body(self) -> bytes:
        return bytes(self["body"])


def parse_body_arguments(
    content_type: str,
    body: bytes,
    arguments: dict[str, list[bytes]],
    files: dict[str, list[HTTPFile]],
    headers: HTTPHeaders | None = None,
) -> None:
    """Parse a form body into ``arguments`` (and ``files``, for multipart bodies).

    Bodies with a ``Content-Encoding`` are left alone: they must be decoded
    first. Other content types are not form data and are ignored.

    Raises:
        HTTPInputError: the body is not valid for its declared type.
    """
    if headers is not None and headers.get("Content-Encoding", "identity") != "identity":
        gen_log.warning("unsupported Content-Encoding %r: body arguments not parsed", headers["Content-Encoding"])
        return
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/x-www-form-urlencoded":
        parsed = parse_qs_bytes(body, keep_blank_values=True)  # never fails on bytes
        if not arguments:  # the usual empty dict: take the new lists as they are
            arguments.update(parsed)
            return
        for name, values in parsed.items():
            arguments.setdefault(name, []).extend(values)
    elif media_type == "multipart/form-data":
        _parse_multipart_body(content_type, body, arguments, files)


def _parse_multipart_body(
    content_type: str, body: bytes, arguments: dict[str, list[bytes]], files: dict[str, list[HTTPFile]]
) -> None:
    """A buffered multipart body, through the same streaming decoder handlers use part by part."""
    try:
        fields, uploads = multipart.parse_multipart(content_type, body)
    except multipart.MultipartError as exc:
        raise HTTPInputError(f"invalid multipart body: {exc.message}", exc.status) from None
    for name, values in fields.items():
        arguments.setdefault(name, []).extend(values)
    for name, parts in uploads.items():
        files.setdefault(name, []).extend(HTTPFile(filename, ctype, data) for filename, ctype, data in parts)


def parse_multipart_form_data(
    boundary: bytes, data: bytes, arguments: dict[str, list[bytes]], files: dict[str, list[HTTPFile]]
) -> None:
    """Parse a ``multipart/form-data`` body into ``arguments`` and ``files`` (Tornado's function).

    The boundary is the Content-Type's parameter, quoted or not. The body goes
    through ``framework.multipart``'s decoder, as every multipart body does.
    Unlike Tornado, which logs a warning and returns, a malformed body raises.

    Raises:
        HTTPInputError: malformed body or boundary (400), or over a limit (413).
    """
    if boundary.startswith(b'"') and boundary.endswith(b'"') and len(boundary) >= 2:
        boundary = boundary[1:-1]
    if b'"' in boundary or b"\\" in boundary:
        raise HTTPInputError(f"invalid multipart boundary {boundary[:80]!r}")
    content_type = f'multipart/form-data; boundary="{boundary.decode("latin-1")}"'
    _parse_multipart_body(content_type, data, arguments, files)
