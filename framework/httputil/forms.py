"""Form bodies: urlencoded and multipart arguments, the uploaded files (``HTTPFile``) they carry, and their limits.

The limits are Tornado's (6.5.5 and 6.5.8): ``ParseBodyConfig`` with its
``ParseMultipartConfig`` and ``ParseUrlEncodedConfig``, read from the
argument ``config=`` or else from the one global default that
``set_parse_body_config`` replaces. A global, against this project's habit
of passing configuration down, because it is Tornado's public API: the
request object that parses the query string is made before any
per-application setting could reach it, in Tornado as here.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from framework import multipart
from framework.httputil.errors import HTTPInputError
from framework.httputil.headers import HTTPHeaders
from framework.httputil.query import parse_qs_bytes, too_many_fields


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


gen_log = logging.getLogger("framework.general")  # (httputil.gen_log, as Tornado's module has it)

# The media types parse_body_arguments reads; any other body is the handler's.
_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


@dataclasses.dataclass
class ParseMultipartConfig:
    """Limits of ``multipart/form-data`` body parsing (Tornado's, 6.5.5).

    Attributes:
        enabled: False refuses every multipart body (400).
        max_parts: parts a body may hold; one more is refused (400).
        max_part_header_size: bytes of one part's header block; more is
            refused with 413. Unlike Tornado (10 KiB), 8 KiB by default:
            ``framework.multipart``'s own, stricter limit.

    A body is also held to ``framework.multipart.MultipartLimits``'s
    ``max_field_bytes`` (1 MiB for a part that is not a file; 413), which
    Tornado does not have.
    """

    enabled: bool = True
    max_parts: int = 100
    max_part_header_size: int = multipart.MultipartLimits().max_part_header_bytes


@dataclasses.dataclass
class ParseUrlEncodedConfig:
    """Limits of ``application/x-www-form-urlencoded`` parsing (Tornado's, 6.5.8).

    Attributes:
        max_arguments: pairs a body, or a request's query string, may hold
            (counted as ``parse_qs_bytes``'s ``max_num_fields``); more is
            refused (400).
    """

    max_arguments: int = 1000


@dataclasses.dataclass
class ParseBodyConfig:
    """Limits of request body parsing, one part per body format (Tornado's, 6.5.5)."""

    multipart: ParseMultipartConfig = dataclasses.field(default_factory=ParseMultipartConfig)
    urlencoded: ParseUrlEncodedConfig = dataclasses.field(default_factory=ParseUrlEncodedConfig)


_default_config = ParseBodyConfig()


def set_parse_body_config(config: ParseBodyConfig) -> None:
    """Replace the global default limits of body and query parsing (Tornado's function).

    Every later ``parse_body_arguments`` and ``parse_multipart_form_data``
    without ``config=`` uses it, and so does every later request's query
    string (its number of fields). ``set_parse_body_config(ParseBodyConfig())``
    restores the defaults.
    """
    global _default_config
    _default_config = config


def get_parse_body_config() -> ParseBodyConfig:
    """The global default limits ``set_parse_body_config`` set last (not in Tornado, which reads its global)."""
    return _default_config


def parse_body_arguments(
    content_type: str,
    body: bytes,
    arguments: dict[str, list[bytes]],
    files: dict[str, list[HTTPFile]],
    headers: HTTPHeaders | None = None,
    *,
    config: ParseBodyConfig | None = None,
) -> None:
    """Parse a form body into ``arguments`` (and ``files``, for multipart bodies).

    A form body with a ``Content-Encoding`` (even ``identity``) is refused,
    as Tornado refuses it: decoded, it would no longer say so (the setting
    ``decompress_request`` renames the header). Other content types are not
    form data and are ignored.

    Args:
        content_type: the request's Content-Type header value.
        body: the whole body.
        arguments: filled with the form fields, added to what it holds.
        files: filled with the uploaded files (multipart).
        headers: the request's headers, for its Content-Encoding.
        config: the limits; the global default (``set_parse_body_config``)
            when None.

    Raises:
        HTTPInputError: the body is not valid for its declared type, or
            over a limit of ``config``.
    """
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type not in _FORM_TYPES:
        return  # not form data: the handler reads request.body itself
    if headers is not None and "Content-Encoding" in headers:  # (decompress_request renames it once decoded)
        raise HTTPInputError(f"Unsupported Content-Encoding: {headers['Content-Encoding'][:80]}")
    if config is None:
        config = _default_config
    if media_type == "application/x-www-form-urlencoded":
        if too_many_fields(body, config.urlencoded.max_arguments):
            raise HTTPInputError("Invalid x-www-form-urlencoded body: Max number of fields exceeded")
        parsed = parse_qs_bytes(body, keep_blank_values=True)  # never fails on bytes
        if not arguments:  # the usual empty dict: take the new lists as they are
            arguments.update(parsed)
            return
        for name, values in parsed.items():
            arguments.setdefault(name, []).extend(values)
    elif media_type == "multipart/form-data":
        _parse_multipart_body(content_type, body, arguments, files, config.multipart)


def _parse_multipart_body(
    content_type: str,
    body: bytes,
    arguments: dict[str, list[bytes]],
    files: dict[str, list[HTTPFile]],
    config: ParseMultipartConfig,
) -> None:
    """A buffered multipart body, through the same streaming decoder handlers use part by part.

    The parts are counted here rather than by the decoder's ``max_parts``,
    which answers 413: Tornado answers 400 for too many parts.
    """
    if not config.enabled:
        raise HTTPInputError("multipart/form-data parsing is disabled")
    # The decoder's part limit one above ours, so that ours is the one met.
    limits = multipart.MultipartLimits(max_parts=config.max_parts + 1, max_part_header_bytes=config.max_part_header_size)
    try:
        for parts, (start, data) in enumerate(multipart.iter_parts(content_type, body, limits=limits), 1):
            if parts > config.max_parts:
                raise HTTPInputError("multipart/form-data has too many parts")
            if start.filename is None:
                arguments.setdefault(start.name, []).append(data)
            else:
                files.setdefault(start.name, []).append(HTTPFile(start.filename, start.content_type, data))
    except multipart.MultipartError as exc:
        raise HTTPInputError(f"invalid multipart body: {exc.message}", exc.status) from None


def parse_multipart_form_data(
    boundary: bytes,
    data: bytes,
    arguments: dict[str, list[bytes]],
    files: dict[str, list[HTTPFile]],
    *,
    config: ParseMultipartConfig | None = None,
) -> None:
    """Parse a ``multipart/form-data`` body into ``arguments`` and ``files`` (Tornado's function).

    The boundary is the Content-Type's parameter, quoted or not. The body goes
    through ``framework.multipart``'s decoder, as every multipart body does.
    Unlike Tornado, which logs a warning and returns, a malformed body raises.

    Args:
        boundary: the Content-Type's ``boundary`` parameter.
        data: the whole body.
        arguments: filled with the form fields.
        files: filled with the uploaded files.
        config: the limits; the global default's ``multipart`` when None.

    Raises:
        HTTPInputError: malformed body or boundary, too many parts or
            parsing disabled (400), or over a size limit (413).
    """
    if boundary.startswith(b'"') and boundary.endswith(b'"') and len(boundary) >= 2:
        boundary = boundary[1:-1]
    if b'"' in boundary or b"\\" in boundary:
        raise HTTPInputError(f"invalid multipart boundary {boundary[:80]!r}")
    content_type = f'multipart/form-data; boundary="{boundary.decode("latin-1")}"'
    _parse_multipart_body(content_type, data, arguments, files, _default_config.multipart if config is None else config)
