"""Reading request arguments: query, body and path, decoded strictly.

A mixin of ``RequestHandler`` so the handler's file stays about the lifecycle.
Values arrive as bytes; ``decode_argument`` turns them into ``str`` and
answers 400 (never 500) for bytes that are not UTF-8.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, Final

from framework.web.errors import HTTPError, MissingArgumentError

if TYPE_CHECKING:
    from framework.httputil import HTTPServerRequest

__all__ = ["ArgumentReader"]

_MISSING: Final = object()
# Control characters other than TAB, LF and CR are removed from argument values.
_REMOVE_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f]")


class ArgumentReader:
    """``get_argument`` and friends (Tornado's names and semantics)."""

    request: HTTPServerRequest

    def get_argument(self, name: str, default: Any = _MISSING, strip: bool = True) -> Any:
        """The last value of ``name`` from query or body.

        Raises:
            MissingArgumentError: absent and no default (answered with 400).
        """
        return self._get_argument(name, default, self.request.arguments, strip)

    def get_arguments(self, name: str, strip: bool = True) -> list[str]:
        """Every value of ``name`` from query and body (possibly empty)."""
        return self._get_arguments(name, self.request.arguments, strip)

    def get_query_argument(self, name: str, default: Any = _MISSING, strip: bool = True) -> Any:
        """The last value of ``name`` from the query string."""
        return self._get_argument(name, default, self.request.query_arguments, strip)

    def get_query_arguments(self, name: str, strip: bool = True) -> list[str]:
        """Every value of ``name`` from the query string."""
        return self._get_arguments(name, self.request.query_arguments, strip)

    def get_body_argument(self, name: str, default: Any = _MISSING, strip: bool = True) -> Any:
        """The last value of ``name`` from a form body."""
        return self._get_argument(name, default, self.request.body_arguments, strip)

    def get_body_arguments(self, name: str, strip: bool = True) -> list[str]:
        """Every value of ``name`` from a form body."""
        return self._get_arguments(name, self.request.body_arguments, strip)

    def get_json_body(self) -> Any:
        """The request body decoded as JSON (for APIs; Tornado leaves this to ``prepare()``).

        Raises:
            HTTPError: 400 when the Content-Type is not JSON or the body is not valid JSON.
        """
        media_type = self.request.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if media_type != "application/json" and not media_type.endswith("+json"):
            raise HTTPError(400, "expected a JSON body, got %r", media_type, reason="expected application/json")
        try:
            return json.loads(self.request.body)
        except ValueError as exc:
            raise HTTPError(400, "invalid JSON body: %s", exc, reason="invalid JSON body") from None

    def decode_argument(self, value: bytes, name: str | None = None) -> str:
        """Decode an argument or path group from UTF-8; override for other encodings.

        Raises:
            HTTPError: 400 when the bytes are not valid UTF-8.
        """
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            where = f"argument {name}" if name else "URL"
            raise HTTPError(400, "Invalid UTF-8 in %s: %r", where, value[:40], reason=f"Invalid UTF-8 in {where}") from None

    def _get_argument(self, name: str, default: Any, source: dict[str, list[bytes]], strip: bool) -> Any:
        raws = source.get(name)
        if raws is not None and len(raws) == 1:  # the usual case, without a list of one (form workload)
            return self._clean_argument(raws[0], name, strip)
        values = self._get_arguments(name, source, strip)
        if values:
            return values[-1]
        if default is _MISSING:
            raise MissingArgumentError(name)
        return default

    def _get_arguments(self, name: str, source: dict[str, list[bytes]], strip: bool) -> list[str]:
        return [self._clean_argument(raw, name, strip) for raw in source.get(name, ())]

    def _clean_argument(self, raw: bytes, name: str, strip: bool) -> str:
        """One value decoded, its control characters (but TAB, LF, CR) made spaces, maybe stripped."""
        if type(self).decode_argument is _BASE_DECODE_ARGUMENT:
            # The base's UTF-8, without its call (a frame per argument read:
            # loadtest/bench.py's form workload reads five); what it raises
            # on bad bytes still comes from it.
            try:
                value = raw.decode("utf-8")
            except UnicodeDecodeError:
                value = self.decode_argument(raw, name=name)
        else:
            value = self.decode_argument(raw, name=name)
        if not value.isprintable():  # a regex only where there may be something to replace
            value = _REMOVE_CONTROL.sub(" ", value)
        return value.strip() if strip else value


# The base's decoder, taken once: a subclass's own (another charset) is called.
_BASE_DECODE_ARGUMENT = ArgumentReader.decode_argument
