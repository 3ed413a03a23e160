"""Small general-purpose pieces of Tornado's ``tornado.util``.

The names applications use: ``ObjectDict``, ``TimeoutError``,
``import_object`` and ``Configurable`` (the base that lets ``IOLoop.configure``
choose the class ``IOLoop()`` builds); and the helpers Tornado documents for
its own modules and for code built on them: ``GzipDecompressor`` (which the
HTTP client inflates responses with), ``errno_from_exception``,
``re_unescape``, ``timedelta_to_seconds`` and ``ArgReplacer``. This module
imports nothing from ``framework``, so any layer may use it.
"""

from __future__ import annotations

import builtins
import datetime
import importlib
import inspect
import re
import zlib
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Self, cast

__all__ = [
    "ArgReplacer",
    "Configurable",
    "GzipDecompressor",
    "ObjectDict",
    "TimeoutError",
    "errno_from_exception",
    "import_object",
    "re_unescape",
    "timedelta_to_seconds",
]

TimeoutError = builtins.TimeoutError
"""What timeouts raise (``with_timeout``, queues, locks, ``TCPClient``).

Tornado defines its own class; here it is the builtin, so an ``asyncio``
timeout and a framework timeout are caught by the same ``except``.
"""


class ObjectDict(dict[str, Any]):
    """A dict whose keys can also be read and written as attributes.

    Mirrors ``tornado.util.ObjectDict``: ``d.key`` is ``d["key"]``, and a
    missing key raises ``AttributeError`` (so ``getattr(d, "x", default)`` works).
    """

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value


def import_object(name: str) -> Any:
    """Import an object by its dotted name.

    Mirrors ``tornado.util.import_object``: ``import_object("x")`` is
    ``import x``, ``import_object("x.y.z")`` is ``from x.y import z`` (or the
    submodule ``x.y.z`` if ``z`` is not an attribute of ``x.y``).

    Raises:
        ImportError: the module or the attribute does not exist.
    """
    if "." not in name:
        return importlib.import_module(name)
    module_name, _, attribute = name.rpartition(".")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attribute)
    except AttributeError:
        try:
            return importlib.import_module(name)
        except ImportError:
            raise ImportError(f"No module named {attribute}") from None


class Configurable:
    """A base class whose constructor builds a configurable implementation subclass.

    Mirrors ``tornado.util.Configurable``. A family of classes names its base
    with :meth:`configurable_base` and its default implementation with
    :meth:`configurable_default`; ``Base.configure(Impl, **kwargs)`` then makes
    ``Base(...)`` build an ``Impl``, with ``kwargs`` added to every call. The
    arguments go to ``initialize`` (not ``__init__``), as in Tornado, because
    ``__new__`` already knows them and subclasses may add their own.
    """

    # Per base class, set by configure(); read through the base, never a subclass.
    __impl_class: ClassVar[type[Configurable] | None] = None
    __impl_kwargs: ClassVar[dict[str, Any] | None] = None

    def __new__(cls, *args: Any, **kwargs: Any) -> Self:
        base = cls.configurable_base()
        init_kwargs: dict[str, Any] = {}
        if cls is base:
            impl = cls.configured_class()
            init_kwargs.update(base.__dict__.get("_Configurable__impl_kwargs") or {})
        else:
            impl = cls
        init_kwargs.update(kwargs)
        if impl.configurable_base() is not base:
            # The implementation is itself a configurable family: let it choose.
            return cast(Self, impl(*args, **init_kwargs))
        instance = super().__new__(impl)
        instance.initialize(*args, **init_kwargs)
        return cast(Self, instance)

    @classmethod
    def configurable_base(cls) -> type[Configurable]:
        """Return the base class of the configurable family (usually the class that overrides this)."""
        raise NotImplementedError()

    @classmethod
    def configurable_default(cls) -> type[Configurable]:
        """Return the implementation used when :meth:`configure` has not been called."""
        raise NotImplementedError()

    def initialize(self, *args: Any, **kwargs: Any) -> None:
        """Initialise an instance; takes the place of ``__init__`` in this family."""

    @classmethod
    def configure(cls, impl: type[Configurable] | str | None, **kwargs: Any) -> None:
        """Choose the class the base builds, and keyword arguments added to every construction.

        Args:
            impl: a subclass of the base, its dotted name, or None for the default.
            kwargs: passed to ``initialize`` on top of the caller's own.

        Raises:
            ValueError: ``impl`` is not a subclass of the base.
        """
        base = cls.configurable_base()
        if isinstance(impl, str):
            impl = import_object(impl)
        if impl is not None and not (isinstance(impl, type) and issubclass(impl, cls)):
            raise ValueError(f"Invalid subclass of {cls}")
        base.__impl_class = impl
        base.__impl_kwargs = kwargs

    @classmethod
    def configured_class(cls) -> type[Configurable]:
        """Return the class :meth:`configure` chose, or the default."""
        base = cls.configurable_base()
        # Look in the base's own namespace: a configure() on another family's
        # base must not leak here through inheritance.
        if base.__dict__.get("_Configurable__impl_class") is None:
            base.__impl_class = cls.configurable_default()
        chosen = base.__impl_class
        if chosen is None:  # pragma: no cover - set just above
            raise RuntimeError("no configured class")
        return chosen

    @classmethod
    def _save_configuration(cls) -> tuple[type[Configurable] | None, dict[str, Any] | None]:
        base = cls.configurable_base()
        return (base.__dict__.get("_Configurable__impl_class"), base.__dict__.get("_Configurable__impl_kwargs"))

    @classmethod
    def _restore_configuration(cls, saved: tuple[type[Configurable] | None, dict[str, Any] | None]) -> None:
        base = cls.configurable_base()
        base.__impl_class = saved[0]
        base.__impl_kwargs = saved[1]


class GzipDecompressor:
    """Streaming gzip decompression, a chunk at a time (Tornado's ``GzipDecompressor``).

    Like ``zlib.decompressobj`` but reading the gzip header and checksum. Feed
    chunks to :meth:`decompress`; with a ``max_length``, input it did not get
    to waits in :attr:`unconsumed_tail`, to be passed back in before the next
    chunk; :meth:`flush` once the input has ended.

    As in Tornado 6.6, a stream of several gzip members (RFC 1952 2.2, what
    ``cat a.gz b.gz`` makes) inflates to all of them, and bytes after a member
    that do not start another one are an error. An empty stream is no error
    (a ``HEAD`` answer or a 304 may say ``Content-Encoding: gzip`` and carry
    no body). Differences from Tornado: :attr:`eof` is added, and
    :meth:`decompress` without ``max_length`` gives no deprecation warning.

    Strategy: one ``zlib`` inflater per member, made when a member starts and
    dropped when it ends. Whatever follows a member's end is the next member,
    handed back through :attr:`unconsumed_tail` exactly as input that
    ``max_length`` held back is, so a call never inflates more than one
    member's worth. Each member's end copies the input after it, so a body of
    many tiny members costs the square of their number: past ``MAX_MEMBERS``
    (far beyond what any producer writes) the stream is refused. Without the
    cap, 8 MiB of empty 20-byte members held the event loop for 1.5 s.
    """

    MAX_MEMBERS = 1024

    def __init__(self) -> None:
        # None before the first member and between members: the only places
        # the stream may end.
        self._inflater: zlib._Decompress | None = None
        self._tail = b""
        self._members = 0  # members read to their end

    def decompress(self, value: bytes, max_length: int = 0) -> bytes:
        """Inflate ``value`` and return the bytes now available (some may stay buffered).

        With a ``max_length``, a call may return less, even nothing, while
        :attr:`unconsumed_tail` is not empty (at the end of one member, the
        next one waits there): pass it back until it is empty.

        Args:
            value: the next compressed chunk (after any :attr:`unconsumed_tail`).
            max_length: at most this many bytes are returned; 0 means no
                limit, and then every member in ``value`` is inflated.

        Raises:
            zlib.error: the input is not gzip, is corrupt, has bytes after a
                member that do not start another one, or more than
                ``MAX_MEMBERS`` members.
        """
        result = self._decompress_member(value, max_length)
        if not max_length:
            while self._tail:  # no limit: the caller expects all of it now
                result += self._decompress_member(self._tail, 0)
        return result

    def _decompress_member(self, value: bytes, max_length: int) -> bytes:
        """One ``zlib`` call over the current member (started here if none is)."""
        if not value:
            self._tail = b""
            return b""
        inflater = self._inflater
        if inflater is None:
            # A member starts here or the input is wrong; zlib would say so
            # too, less clearly. A single byte is checked against the first
            # magic byte only: zlib checks the second when it comes.
            if not b"\x1f\x8b".startswith(value[:2]):
                raise zlib.error(f"expected a gzip member, got {value[:2]!r}")
            if self._members >= self.MAX_MEMBERS:
                raise zlib.error(f"more than {self.MAX_MEMBERS} gzip members")
            inflater = self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # 16+: the gzip wrapper
        result = inflater.decompress(value, max_length)
        if inflater.eof:
            # What follows the member is in unused_data (unconsumed_tail may
            # hold a stale copy of it: read only unused_data).
            self._tail = inflater.unused_data
            self._inflater = None
            self._members += 1
        else:
            self._tail = inflater.unconsumed_tail
        return result

    @property
    def unconsumed_tail(self) -> bytes:
        """Input the last :meth:`decompress` did not get to: pass it back in before anything else."""
        return self._tail

    @property
    def eof(self) -> bool:
        """True when a member has ended and nothing follows it yet (not in Tornado).

        The stream may end here; it may also go on with another member.
        False before any member has ended: an empty stream is not at its end.
        """
        return self._members > 0 and self._inflater is None and not self._tail

    def flush(self) -> bytes:
        """Check that the input ended where it may; call nothing after it.

        Returns ``b""`` always: :meth:`decompress` has given every byte, and
        ``max_length`` holds input back, never output (Tornado 6.6, where it
        no longer inflates ``unconsumed_tail`` without a limit).

        Raises:
            ValueError: :attr:`unconsumed_tail` is not empty: pass it to
                :meth:`decompress` first.
            zlib.error: the input stopped inside a member (truncated).
        """
        if self._tail:
            raise ValueError("unconsumed_tail must be passed to decompress before flush")
        if self._inflater is not None:
            raise zlib.error("truncated gzip stream")
        return b""


def errno_from_exception(e: BaseException) -> Any:
    """The errno of an exception: its ``errno`` attribute, else its first argument, else None.

    Mirrors ``tornado.util.errno_from_exception``, including its rule that an
    exception *with* an ``errno`` attribute (every ``OSError``) answers with
    it, even when it is None.
    """
    if hasattr(e, "errno"):
        return e.errno
    return e.args[0] if e.args else None


# One escape: a backslash and the character after it, newlines included
# (re.escape writes a newline as backslash-newline).
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


def re_unescape(s: str) -> str:
    """Undo ``re.escape``: the text a pattern of escaped literal characters matches.

    Mirrors ``tornado.util.re_unescape``.

    Raises:
        ValueError: ``s`` holds what ``re.escape`` never writes: an escaped
            ASCII letter or digit (``\\d``, ``\\n``, ``\\1`` mean something else
            to ``re``), or a lone backslash at the end (Tornado leaves that in).
    """

    def literal(match: re.Match[str]) -> str:
        char = match.group(1)
        if char.isascii() and char.isalnum():
            raise ValueError(f"cannot unescape '\\{char}': re.escape never writes it")
        return char

    if (len(s) - len(s.rstrip("\\"))) % 2 == 1:
        raise ValueError("cannot unescape a lone backslash at the end")
    return _ESCAPE.sub(literal, s)


def timedelta_to_seconds(td: datetime.timedelta) -> float:
    """``td`` in seconds, as a float (Tornado's helper; ``td.total_seconds()``)."""
    return td.total_seconds()


class ArgReplacer:
    """Find, or replace, one named argument of a call, passed by position or by keyword.

    Mirrors ``tornado.util.ArgReplacer``, for decorators and wrappers:
    ``ArgReplacer(func, "callback")`` then reads or swaps ``callback`` in the
    ``args, kwargs`` a call to ``func`` receives. ``arg_pos`` is the
    argument's position, or None if it cannot be passed by position.

    Differences from Tornado: the position comes from ``inspect.signature``,
    so a bound method's ``self`` is not counted (it is not in ``args`` either)
    and a ``functools.wraps`` wrapper is read as the function it wraps; a
    callable without a readable signature is treated as keyword-only.
    """

    def __init__(self, func: Callable[..., Any], name: str) -> None:
        self.name = name
        self.arg_pos = _positional_index(func, name)

    def get_old_value(self, args: Sequence[Any], kwargs: dict[str, Any], default: Any = None) -> Any:
        """The argument's value in ``args, kwargs``, or ``default`` if it is not there."""
        if self.arg_pos is not None and len(args) > self.arg_pos:
            return args[self.arg_pos]
        return kwargs.get(self.name, default)

    def replace(self, new_value: Any, args: Sequence[Any], kwargs: dict[str, Any]) -> tuple[Any, Sequence[Any], dict[str, Any]]:
        """Put ``new_value`` in place of the argument; return ``(old_value, args, kwargs)``.

        An argument passed neither way is added to ``kwargs``, with None as
        the old value. The inputs are left as they were: the ``args`` and
        ``kwargs`` returned are new objects (Tornado allows either).
        """
        if self.arg_pos is not None and len(args) > self.arg_pos:
            old_value = args[self.arg_pos]
            return old_value, (*args[: self.arg_pos], new_value, *args[self.arg_pos + 1 :]), dict(kwargs)
        return kwargs.get(self.name), args, {**kwargs, self.name: new_value}


def _positional_index(func: Callable[..., object], name: str) -> int | None:
    """Where ``name`` sits among the parameters ``func`` takes by position, or None."""
    try:
        parameters = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):  # builtins and extension functions may have none
        return None
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    names = [p.name for p in parameters if p.kind in positional]
    return names.index(name) if name in names else None
