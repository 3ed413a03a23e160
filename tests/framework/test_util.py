"""``framework/util.py``: ObjectDict, import_object, Configurable, and IOLoop.configure through it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from framework import util
from framework.ioloop import IOLoop
from framework.util import Configurable, ObjectDict, import_object


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
