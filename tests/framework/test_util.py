"""``framework/util.py``: ObjectDict, import_object, Configurable (and IOLoop.configure through it), and helpers.

The helpers: GzipDecompressor on real gzip data fed in pieces, errno_from_exception,
re_unescape against what ``re.escape`` writes, timedelta_to_seconds, ArgReplacer
on a real function.
"""

from __future__ import annotations

import asyncio
import datetime
import errno
import functools
import gzip
import os
import re
import zlib
from collections.abc import Iterator
from typing import Any

import pytest

from framework import util
from framework.ioloop import IOLoop
from framework.util import (
    ArgReplacer,
    Configurable,
    GzipDecompressor,
    ObjectDict,
    errno_from_exception,
    import_object,
    re_unescape,
    timedelta_to_seconds,
)


def test_object_dict_reads_and_writes_keys_as_attributes() -> None:
    d = ObjectDict(a=1)
    d.b = 2
    assert (d.a, d["b"]) == (1, 2)
    with pytest.raises(AttributeError):
        _ = d.missing
    assert getattr(d, "missing", "default") == "default"


def test_timeout_error_is_the_builtin() -> None:
    assert util.TimeoutError is TimeoutError
    assert issubclass(asyncio.TimeoutError, util.TimeoutError)


def test_import_object_imports_modules_and_names() -> None:
    import os.path

    assert import_object("os.path") is os.path
    assert import_object("os.path.join") is os.path.join
    assert import_object("os") is __import__("os")
    with pytest.raises(ImportError):
        import_object("os.path.no_such_name")
    with pytest.raises(ImportError):
        import_object("no_such_module_here")


class Base(Configurable):
    @classmethod
    def configurable_base(cls) -> type[Configurable]:
        return Base

    @classmethod
    def configurable_default(cls) -> type[Configurable]:
        return Default

    def initialize(self, value: int = 0, *, extra: str = "") -> None:
        self.value = value
        self.extra = extra


class Default(Base):
    pass


class Other(Base):
    pass


@pytest.fixture
def restore_base() -> Iterator[None]:
    saved = Base._save_configuration()
    yield
    Base._restore_configuration(saved)


def test_configurable_builds_the_default_then_the_configured_class(restore_base: None) -> None:
    built = Base(1)
    assert type(built) is Default and built.value == 1
    Base.configure(Other, extra="x")
    built = Base(2)
    assert type(built) is Other and (built.value, built.extra) == (2, "x")
    assert Base.configured_class() is Other
    assert type(Default(3)) is Default  # a subclass named directly is built as itself


def test_configure_accepts_a_dotted_name_and_refuses_strangers(restore_base: None) -> None:
    Base.configure(f"{__name__}.Other")
    assert type(Base()) is Other
    with pytest.raises(ValueError, match="Invalid subclass"):
        Base.configure(dict)  # type: ignore[arg-type]
    Base.configure(None)
    assert type(Base()) is Default


class CountingIOLoop(IOLoop):
    def initialize(self, *, asyncio_loop: asyncio.AbstractEventLoop | None = None, label: str = "") -> None:
        super().initialize(asyncio_loop=asyncio_loop)
        self.label = label


def test_ioloop_configure_chooses_the_class_ioloop_builds() -> None:
    saved = IOLoop._save_configuration()
    try:
        IOLoop.configure(CountingIOLoop, label="configured")
        loop: Any = IOLoop()
        try:
            assert isinstance(loop, CountingIOLoop) and loop.label == "configured"
            assert loop.run_sync(lambda: 42) == 42
        finally:
            loop.close()
        with pytest.raises(ValueError):
            IOLoop.configure(Base)
    finally:
        IOLoop._restore_configuration(saved)
    plain = IOLoop()
    assert type(plain) is IOLoop
    plain.close()


# Compressible and incompressible parts, so pieces of output and input differ in size.
ORIGINAL = b"".join(b"line %d of the original text\n" % i for i in range(2000)) + os.urandom(5000)


def inflate_in_pieces(compressed: bytes, chunk: int, max_length: int) -> list[bytes]:
    """Feed ``compressed`` ``chunk`` bytes at a time, taking at most ``max_length`` out per call."""
    decompressor = GzipDecompressor()
    pieces: list[bytes] = []
    for start in range(0, len(compressed), chunk):
        data = compressed[start : start + chunk]
        while data:
            pieces.append(decompressor.decompress(data, max_length))
            data = decompressor.unconsumed_tail
    pieces.append(decompressor.flush())
    assert decompressor.eof
    return pieces


@pytest.mark.parametrize(("chunk", "max_length"), [(1, 7), (100, 64), (4096, 1000), (10**6, 0)])
def test_gzip_decompressor_inflates_real_gzip_in_bounded_pieces(chunk: int, max_length: int) -> None:
    pieces = inflate_in_pieces(gzip.compress(ORIGINAL), chunk, max_length)
    assert b"".join(pieces) == ORIGINAL
    if max_length:
        assert max(len(p) for p in pieces) <= max_length


def test_gzip_decompressor_leaves_what_max_length_stops_in_unconsumed_tail() -> None:
    compressed = gzip.compress(b"x" * 100_000)
    decompressor = GzipDecompressor()
    first = decompressor.decompress(compressed, 10)
    assert first == b"x" * 10
    assert decompressor.unconsumed_tail  # the rest of the input waits to be passed back
    assert compressed.endswith(decompressor.unconsumed_tail) and not decompressor.eof


def test_gzip_decompressor_refuses_what_is_not_gzip_and_a_truncated_stream() -> None:
    with pytest.raises(zlib.error):
        GzipDecompressor().decompress(zlib.compress(ORIGINAL))  # zlib wrapper, not gzip
    truncated = GzipDecompressor()
    assert ORIGINAL.startswith(truncated.decompress(gzip.compress(ORIGINAL)[:-10]))
    with pytest.raises(zlib.error, match="truncated"):
        truncated.flush()
    assert GzipDecompressor().flush() == b""  # no input at all: an empty body, not a truncated one


@pytest.mark.parametrize(("chunk", "max_length"), [(1, 7), (100, 64), (10**6, 1000), (10**6, 0)])
def test_gzip_decompressor_inflates_every_member_of_a_multi_member_stream(chunk: int, max_length: int) -> None:
    """RFC 1952 2.2: members one after another (``cat a.gz b.gz``) are one stream (Tornado 6.6)."""
    members = [gzip.compress(ORIGINAL[:3000]), gzip.compress(b""), gzip.compress(ORIGINAL[3000:])]
    assert b"".join(inflate_in_pieces(b"".join(members), chunk, max_length)) == ORIGINAL


def test_gzip_decompressor_without_max_length_inflates_every_member_at_once() -> None:
    decompressor = GzipDecompressor()
    assert decompressor.decompress(gzip.compress(b"one ") + gzip.compress(b"two")) == b"one two"
    assert decompressor.unconsumed_tail == b"" and decompressor.eof and decompressor.flush() == b""


@pytest.mark.parametrize("garbage", [b"\x00", b"garbage", b"\x1f\x8bnot a member", b"\x1f"])
def test_gzip_decompressor_refuses_what_follows_a_member_unless_it_is_one(garbage: bytes) -> None:
    decompressor = GzipDecompressor()
    with pytest.raises(zlib.error):
        decompressor.decompress(gzip.compress(b"data") + garbage)
        decompressor.flush()  # a lone first magic byte: a member begun, then cut off


def test_gzip_decompressor_flush_refuses_an_unconsumed_tail() -> None:
    """Tornado 6.6: flush no longer inflates the held-back input without a limit."""
    decompressor = GzipDecompressor()
    assert decompressor.decompress(gzip.compress(b"x" * 100_000), 10) == b"x" * 10
    with pytest.raises(ValueError, match="unconsumed_tail"):
        decompressor.flush()
    between = GzipDecompressor()  # a member ended, the next one still held back
    assert between.decompress(gzip.compress(b"a") + gzip.compress(b"b"), 1) == b"a"
    assert between.unconsumed_tail and not between.eof
    with pytest.raises(ValueError):
        between.flush()


def test_errno_from_exception_reads_errno_then_args() -> None:
    assert errno_from_exception(OSError(errno.ECONNRESET, "reset")) == errno.ECONNRESET
    with pytest.raises(OSError) as raised:
        os.fstat(-1)  # a real one, from the system
    assert errno_from_exception(raised.value) == errno.EBADF
    assert errno_from_exception(Exception(errno.EPIPE, "broken pipe")) == errno.EPIPE
    assert errno_from_exception(Exception()) is None
    assert errno_from_exception(OSError("no number")) is None  # an errno attribute, even None, wins


def test_re_unescape_undoes_every_escape_re_escape_writes() -> None:
    text = "".join(map(chr, range(128))) + "é中\u2028 tail"
    escaped = re.escape(text)
    assert escaped != text
    assert re_unescape(escaped) == text
    assert re_unescape(r"/static/\(v1\)/a\.b") == "/static/(v1)/a.b"


@pytest.mark.parametrize("pattern", [r"\d+", r"a\nb", r"\1", r"\A", "x\\\\\\"])
def test_re_unescape_refuses_what_re_escape_never_writes(pattern: str) -> None:
    with pytest.raises(ValueError, match="cannot unescape"):
        re_unescape(pattern)


def test_timedelta_to_seconds() -> None:
    assert timedelta_to_seconds(datetime.timedelta(days=1, milliseconds=500)) == 86400.5
    assert timedelta_to_seconds(datetime.timedelta(seconds=-3)) == -3.0


def fetch(url: str, timeout: float = 20.0, *, callback: Any = None) -> tuple[str, float, Any]:
    return url, timeout, callback


def test_arg_replacer_finds_a_positional_argument() -> None:
    replacer = ArgReplacer(fetch, "timeout")
    assert replacer.arg_pos == 1
    args, kwargs = ("http://a/", 5.0), {"callback": print}
    assert replacer.get_old_value(args, kwargs) == 5.0
    old, new_args, new_kwargs = replacer.replace(9.0, args, kwargs)
    assert (old, fetch(*new_args, **new_kwargs)) == (5.0, ("http://a/", 9.0, print))
    assert args == ("http://a/", 5.0) and kwargs == {"callback": print}  # the inputs are untouched


def test_arg_replacer_finds_a_keyword_argument() -> None:
    replacer = ArgReplacer(fetch, "timeout")
    args, kwargs = ("http://a/",), {"timeout": 5.0}
    assert replacer.get_old_value(args, kwargs) == 5.0
    old, new_args, new_kwargs = replacer.replace(9.0, args, kwargs)
    assert (old, fetch(*new_args, **new_kwargs)) == (5.0, ("http://a/", 9.0, None))


def test_arg_replacer_adds_an_absent_argument_as_a_keyword() -> None:
    replacer = ArgReplacer(fetch, "callback")
    assert replacer.arg_pos is None  # keyword-only
    assert replacer.get_old_value(("http://a/",), {}) is None
    assert replacer.get_old_value(("http://a/",), {}, default="none") == "none"
    old, new_args, new_kwargs = replacer.replace(print, ("http://a/",), {})
    assert old is None and new_kwargs == {"callback": print}
    assert fetch(*new_args, **new_kwargs) == ("http://a/", 20.0, print)
    timeout = ArgReplacer(fetch, "timeout")
    assert timeout.replace(1.0, ("http://a/",), {}) == (None, ("http://a/",), {"timeout": 1.0})


def test_arg_replacer_reads_methods_and_wrappers_as_they_are_called() -> None:
    class Client:
        def fetch(self, url: str, timeout: float = 20.0) -> float:
            return timeout

    @functools.wraps(fetch)
    def wrapper(*args: Any, **kwargs: Any) -> tuple[str, float, Any]:
        return fetch(*args, **kwargs)

    assert ArgReplacer(Client.fetch, "timeout").arg_pos == 2  # self is in args
    assert ArgReplacer(Client().fetch, "timeout").arg_pos == 1  # bound: self is not
    assert ArgReplacer(wrapper, "timeout").arg_pos == 1
    assert ArgReplacer(len, "obj").arg_pos == 0
    assert ArgReplacer(fetch, "no_such_argument").arg_pos is None


@pytest.mark.parametrize("chunk", [10**6, 4096])
def test_gzip_decompressor_refuses_more_members_than_its_cap(chunk: int) -> None:
    # Each member's end copies the input after it: many tiny members cost their number squared.
    empty = gzip.compress(b"")
    cap = GzipDecompressor.MAX_MEMBERS
    assert b"".join(inflate_in_pieces(empty * (cap - 1) + gzip.compress(b"last"), chunk, 0)) == b"last"
    with pytest.raises(zlib.error, match=f"more than {cap} gzip members"):
        inflate_in_pieces(empty * cap + gzip.compress(b"one too many"), chunk, 0)
