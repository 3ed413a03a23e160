"""``HTTPHeaders``: the case-insensitive, multi-valued header map (Tornado's)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, MutableMapping
from typing import Any, TypeVar, overload

from framework import http1
from framework.httputil.errors import HTTPInputError

_T = TypeVar("_T")

# The canonical display form of a field name lives with the grammar (the
# writer needs it too); these names keep this module's spelling.
_display_names = http1.DISPLAY_NAMES
_display_name = http1.field_display_name


class HTTPHeaders(MutableMapping[str, str]):
    """Case-insensitive, multi-valued header map (Tornado's ``HTTPHeaders``).

    ``headers["Set-Cookie"]`` returns the values joined by commas, as RFC 9110
    allows for list-valued fields; ``get_list`` returns them separately and
    ``get_all`` yields every ``(name, value)`` pair, a name's values together
    in order of arrival. Names are shown normalised (``Content-Type``).

    Attributes:
        fields: the storage, ``{lower-case name: [values]}`` (what ``adopt``
            wraps): the public fast path for serialisers and the hot path,
            which read and write it without a ``lower()`` per call. Writers
            keep its three rules: keys are lower-case, no list is empty, and
            a list is replaced, never changed in place (maps may share
            lists: every response starts from one shared set of defaults).
            Not in Tornado, whose ``HTTPHeaders`` keeps this private.
    """

    __slots__ = ("fields",)

    def __init__(self, *args: Any, **kwargs: str) -> None:
        # lower-case name -> values; the display name is derived when needed.
        self.fields: dict[str, list[str]] = {}
        if len(args) == 1 and type(args[0]) is HTTPHeaders:
            self.fields = {k: list(v) for k, v in args[0].fields.items()}
        elif len(args) == 1 and type(args[0]) is dict and not kwargs:
            # What update() would do, without a __setitem__ call per item
            # (speed: HTTPHeaders({...}) per response, bench_inprocess).
            self.fields = {name.lower(): [value] for name, value in args[0].items()}
        elif args or kwargs:
            self.update(*args, **kwargs)

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]]) -> HTTPHeaders:
        """Build from the parser's ``(name, value)`` list, keeping every value."""
        headers = cls()
        values = headers.fields
        for name, value in pairs:
            key = name.lower()
            existing = values.get(key)
            if existing is None:
                values[key] = [value]
            else:
                existing.append(value)
        return headers

    @classmethod
    def adopt(cls, fields: dict[str, list[str]]) -> HTTPHeaders:
        """Wrap a ``{lower-case name: [values]}`` dict (the parser's ``RequestHead.fields``) without copying."""
        headers = cls.__new__(cls)
        headers.fields = fields
        return headers

    @classmethod
    def parse(cls, headers: str) -> HTTPHeaders:
        """Parse a CRLF-separated header block (no start line).

        Raises:
            HTTPInputError: a line is not a valid header field.
        """
        lines = [ln.encode("latin-1") for ln in headers.replace("\r\n", "\n").split("\n") if ln]
        try:
            pairs = http1.parse_fields(lines)
        except http1.ProtocolError as exc:
            raise HTTPInputError(exc.message) from None
        return cls.from_pairs(pairs)

    def add(self, name: str, value: str) -> None:
        """Add a value without replacing the ones already there."""
        key = name.lower()
        existing = self.fields.get(key)
        # A new list rather than an append: lists may be shared between maps.
        self.fields[key] = [value] if existing is None else [*existing, value]

    def get_list(self, name: str) -> list[str]:
        """Every value of ``name``, or an empty list."""
        return list(self.fields.get(name.lower(), ()))

    def get_all(self) -> Iterator[tuple[str, str]]:
        """Every ``(name, value)`` pair, repeated names included."""
        return iter(self.pairs())

    def pairs(self) -> list[tuple[str, str]]:
        """Every ``(name, value)`` pair as a list (what a serialiser wants, built in one go)."""
        names = _display_names  # the cache, read inline (speed: no call per field, bench_inprocess)
        return [
            (names[key] if key in names else _display_name(key), value) for key, values in self.fields.items() for value in values
        ]

    def parse_line(self, line: str) -> None:
        """Add one ``Name: value`` line."""
        for name, value in HTTPHeaders.parse(line).get_all():
            self.add(name, value)

    @overload
    def get(self, name: str, /) -> str | None: ...

    @overload
    def get(self, name: str, /, default: str | _T) -> str | _T: ...

    def get(self, name: str, /, default: Any = None) -> Any:
        """The comma-joined values of ``name``, or ``default`` (no exception on a miss)."""
        values = self.fields.get(name.lower())
        if values is None:
            return default
        return values[0] if len(values) == 1 else ",".join(values)

    def __setitem__(self, name: str, value: str) -> None:
        self.fields[name.lower()] = [value]

    def __getitem__(self, name: str) -> str:
        values = self.fields[name.lower()]
        return values[0] if len(values) == 1 else ",".join(values)

    def __delitem__(self, name: str) -> None:
        del self.fields[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self.fields

    def __len__(self) -> int:
        return len(self.fields)

    def __iter__(self) -> Iterator[str]:
        return (_display_name(key) for key in self.fields)

    def copy(self) -> HTTPHeaders:
        """An independent copy."""
        return HTTPHeaders(self)

    __copy__ = copy

    def __str__(self) -> str:
        return "".join(f"{n}: {v}\r\n" for n, v in self.get_all())

    def __repr__(self) -> str:
        return f"HTTPHeaders({list(self.get_all())!r})"
