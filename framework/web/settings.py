"""Application settings: Tornado's dict, read once into a typed object.

Strategy: ``Application(**settings)`` keeps the dict (handlers read
``self.settings``, and applications may keep their own keys there, as in
Tornado), and resolves the keys the framework itself uses into one frozen
``AppSettings`` at construction. A key that is a near miss of a known one
(``template_dir``, ``static_paths``, ``cookie_secrets``) is an error at
start-up rather than a setting silently ignored.

``security_headers`` (ours, not Tornado's): headers every response carries,
error pages included, unless a handler changes them. The defaults are
``X-Content-Type-Options: nosniff`` (a browser must not guess a script or a
page out of a JSON or text answer) and ``Referrer-Policy:
strict-origin-when-cross-origin`` (other sites learn the origin, never a path
or query that may hold tokens). The setting is merged over the defaults; a
value of None drops that header (``security_headers={"Referrer-Policy": None}``).
``Content-Security-Policy`` depends on each application's pages, so it is not
a default: add it here or in ``set_default_headers``.

``cross_origin_protection`` and ``trusted_origins`` (Tornado 6.6, off and empty
by default): read by ``security.CrossOriginMixin``. Only a bool and a collection
of ``scheme://host[:port]`` origins are taken; a string, a path or a trailing
slash could never match an ``Origin`` header and fails at start-up.

Templates: Jinja2 is the default language. Tornado's syntax is chosen by
``template_loader`` (Tornado's setting: a ``framework.template`` loader,
through which every ``render()`` goes) or by ``template_engine="tornado"``
(ours) with ``template_path``, which reads that directory through one shared
``Loader`` honouring ``autoescape`` and ``template_whitespace``. Settings
that could not take effect fail at start-up: ``template_whitespace`` without
Tornado syntax or beside a ``template_loader`` (pass ``whitespace=`` to the
loader), ``template_engine="jinja2"`` beside a ``template_loader``, several
``template_path`` directories for Tornado syntax.
"""

from __future__ import annotations

import dataclasses
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from framework import http1
from framework.template.syntax import WHITESPACE_MODES
from framework.web.responsehead import DefaultFields

if TYPE_CHECKING:
    from framework.template.loaders import BaseLoader
    from framework.web.security import Secret

_T = TypeVar("_T")

__all__ = ["DEFAULT_SECURITY_HEADERS", "SERVER_ARGUMENTS", "AppSettings", "LiveSettings", "resolve_settings"]

DEFAULT_SECURITY_HEADERS: Mapping[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}
"""Headers on every response unless the ``security_headers`` setting changes them."""


def _resolve_security_headers(overrides: Mapping[str, str | None] | None) -> tuple[tuple[str, str], ...]:
    """The defaults merged with ``overrides``, as ``(lower-case name, value)`` pairs (what ``clear()`` stores).

    Raises:
        ValueError: a name is not a token or a value could not be sent.
    """
    merged: dict[str, tuple[str, str | None]] = {k.lower(): (k, v) for k, v in DEFAULT_SECURITY_HEADERS.items()}
    for name, value in (overrides or {}).items():
        merged[str(name).lower()] = (str(name), value)
    pairs = []
    for key, (name, value) in merged.items():
        if value is None:
            continue
        if not isinstance(value, str):
            raise ValueError(f"setting 'security_headers': the value of {name!r} must be a str or None")
        http1.validate_header_field(name, value)
        pairs.append((key, value))
    return tuple(pairs)


@dataclasses.dataclass(frozen=True, slots=True)
class AppSettings:
    """The settings the framework reads, with Tornado's names and defaults."""

    debug: bool = False
    autoreload: bool = False
    compiled_template_cache: bool = True
    static_hash_cache: bool = True
    serve_traceback: bool = False
    template_path: str | tuple[str, ...] | None = None
    # "jinja2" (the default) or "tornado"; "tornado" when template_loader is given.
    template_engine: str = "jinja2"
    # A framework.template.BaseLoader (Tornado syntax), or None.
    template_loader: BaseLoader | None = None
    template_whitespace: str | None = None
    autoescape: bool = True
    static_path: str | None = None
    static_url_prefix: str = "/static/"
    cookie_secret: Secret | None = None
    key_version: int | None = None
    xsrf_cookies: bool = False
    # Tornado 6.6: refuse (403) an unsafe-method request from another origin,
    # unless its Origin is one of trusted_origins (RequestHandler.check_trusted_origin).
    cross_origin_protection: bool = False
    trusted_origins: frozenset[str] = frozenset()
    login_url: str | None = None
    default_handler_class: type | None = None
    default_handler_args: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    compress_response: bool = False
    # A dict, a module or a list of them, as Tornado takes it (Application collects the functions).
    ui_methods: object = dataclasses.field(default_factory=dict)
    template_globals: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    request_id_header: str | None = None
    # Resolved from the ``security_headers`` mapping: (lower-case name, value).
    security_headers: tuple[tuple[str, str], ...] = _resolve_security_headers(None)
    xsrf_cookie_kwargs: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    xsrf_cookie_name: str = "_xsrf"
    # A StaticFileHandler subclass, or None for StaticFileHandler itself.
    static_handler_class: type[Any] | None = None
    static_handler_args: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    # Called with each finished handler instead of the access log line.
    log_function: Callable[[Any], None] | None = None
    websocket_ping_interval: float | None = None
    websocket_ping_timeout: float | None = None
    # Derived, not a setting: the fields every response starts from
    # (RequestHandler.clear()): Server, Content-Type, Date and the security
    # headers, in the order they are sent, serialised once a second for a
    # response that changes none of them. A response that does copies its
    # fields' dict, sharing the lists (HTTPHeaders replaces a list rather
    # than change it, so sharing is safe).
    default_fields: DefaultFields = dataclasses.field(init=False, repr=False, compare=False)
    # Derived: a POST, PUT, DELETE... needs a check before prepare() (XSRF, origin or both);
    # one attribute for the lifecycle to read, as it read xsrf_cookies alone before.
    guards_unsafe_methods: bool = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "guards_unsafe_methods", bool(self.xsrf_cookies or self.cross_origin_protection))
        fields = {"server": ["framework"], "content-type": ["text/html; charset=UTF-8"], "date": [""]}
        fields.update((name, [value]) for name, value in self.security_headers)
        _check_request_id_header(self.request_id_header, fields)
        defaults = DefaultFields(fields, self.request_id_header or "X-Request-Id")
        object.__setattr__(self, "default_fields", defaults)  # frozen: set once, here


def _check_request_id_header(name: str | None, defaults: Mapping[str, list[str]]) -> None:
    """Refuse a request id header that could never be sent, or that would repeat a default one.

    Raises:
        ValueError: the name is not a token, or every response already has it.
    """
    if name is None:
        return
    try:
        http1.validate_header_field(name, "")
    except ValueError:
        raise ValueError(f"setting 'request_id_header' must be a header name (a token), got {name!r}") from None
    if name.lower() in defaults:
        raise ValueError(f"setting 'request_id_header' names {name!r}, a header every response already has")


# Keys Tornado documents that we accept beyond the fields above: read
# elsewhere (static files, websockets, handlers, the auth mixins' keys).
_OTHER_KNOWN = frozenset(
    {
        "gzip",
        "xsrf_cookie_version",
        "ui_modules",
        # Read by the WebSocket layer, where its default lives (an explicit None: no limit).
        "websocket_max_message_size",
        "google_oauth",
        "facebook_api_key",
        "facebook_secret",
        "twitter_consumer_key",
        "twitter_consumer_secret",
        "friendfeed_consumer_key",
        "friendfeed_consumer_secret",
        "google_consumer_key",
        "google_consumer_secret",
    }
)
# HTTPServer's keywords: in Application settings they would do nothing (as in
# Tornado, which ignores them there), so they fail at start-up instead.
SERVER_ARGUMENTS = frozenset(
    {
        "no_keep_alive", "xheaders", "ssl_options", "protocol", "decompress_request", "chunk_size",
        "max_header_size", "idle_connection_timeout", "body_timeout", "max_body_size", "max_buffer_size",
        "trusted_downstream", "header_timeout", "min_body_rate", "max_connections", "trusted_proxies",
    }
)  # fmt: skip
# The settings' own fields: not the derived ones (init=False), which no one sets.
_SETTING_FIELDS = frozenset(f.name for f in dataclasses.fields(AppSettings) if f.init)
KNOWN_KEYS = _SETTING_FIELDS | _OTHER_KNOWN

# Misspellings too far from the real key for the edit-distance check.
_ALIASES = {
    "template_dir": "template_path",
    "template_dirs": "template_path",
    "templates": "template_path",
    "templates_path": "template_path",
    "template_language": "template_engine",
    "template_syntax": "template_engine",
    "static_dir": "static_path",
    "static_root": "static_path",
    "static_prefix": "static_url_prefix",
    "secret": "cookie_secret",
    "secret_key": "cookie_secret",
    "xsrf": "xsrf_cookies",
    "csrf_cookies": "xsrf_cookies",
    "compress": "compress_response",
}


def _distance(a: str, b: str) -> int:
    """Levenshtein distance (keys are short; quadratic is fine at start-up)."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def near_miss(key: str) -> str | None:
    """The known key that ``key`` probably meant, or None if it is fine as it is."""
    if key in KNOWN_KEYS:
        return None
    if key in _ALIASES:
        return _ALIASES[key]
    if len(key) < 6:
        return None
    for known in sorted(KNOWN_KEYS):
        if _distance(key, known) <= 2:
            return known
    return None


def resolve_settings(settings: dict[str, Any]) -> AppSettings:
    """Apply Tornado's debug implications and read the dict into ``AppSettings``.

    ``settings`` is updated in place with the implied defaults (``debug``
    turns on ``autoreload``, ``serve_traceback`` and turns off the template
    and static caches), as Tornado does.

    Raises:
        ValueError: a key is a near miss of a known setting, or a value has
            the wrong type.
    """
    for key in settings:
        if key in SERVER_ARGUMENTS:
            raise ValueError(
                f"{key!r} is an HTTPServer argument, not an Application setting: pass it to listen() or HTTPServer()"
            )
        meant = near_miss(key)
        if meant is not None:
            raise ValueError(f"unknown setting {key!r}: did you mean {meant!r}?")
    if settings.get("debug"):
        settings.setdefault("autoreload", True)
        settings.setdefault("compiled_template_cache", False)
        settings.setdefault("static_hash_cache", False)
        settings.setdefault("serve_traceback", True)
    if settings.get("xsrf_cookie_version", 2) != 2:
        raise ValueError("setting 'xsrf_cookie_version': only 2 (masked tokens) is supported")
    if "gzip" in settings:
        settings.setdefault("compress_response", settings["gzip"])
    values = {k: v for k, v in settings.items() if k in _SETTING_FIELDS}
    _check_types(values)
    if "security_headers" in values:
        overrides = values["security_headers"]
        if overrides is not None and not isinstance(overrides, Mapping):
            raise ValueError("setting 'security_headers' must be a mapping of header name to str or None")
        values["security_headers"] = _resolve_security_headers(overrides)
    return AppSettings(**values)


def _check_types(values: dict[str, Any]) -> None:
    template_path = values.get("template_path")
    if isinstance(template_path, (list, tuple)):
        if not all(isinstance(p, str) for p in template_path):
            raise ValueError("setting 'template_path' must be a str or a sequence of str")
        values["template_path"] = tuple(template_path)
    for name in ("static_path", "login_url", "static_url_prefix", "request_id_header"):
        if values.get(name) is not None and not isinstance(values[name], str):
            raise ValueError(f"setting {name!r} must be a str, got {type(values[name]).__name__}")
    for name in ("default_handler_class", "static_handler_class"):
        if values.get(name) is not None and not isinstance(values[name], type):
            raise ValueError(f"setting {name!r} must be a RequestHandler subclass")
    if values.get("log_function") is not None and not callable(values["log_function"]):
        raise ValueError("setting 'log_function' must be callable (it gets each finished handler)")
    _check_template_engine(values)
    _check_cross_origin(values)
    autoescape = values.get("autoescape", True)
    if autoescape is None or autoescape == "xhtml_escape":
        values["autoescape"] = autoescape is not None


def _check_cross_origin(values: dict[str, Any]) -> None:
    """Refuse cross-origin settings that would protect less than they seem to.

    ``"false"`` would switch the protection on and ``0`` off by truthiness, and a
    ``trusted_origins`` string would trust every substring of itself (Tornado
    tests ``origin in trusted_origins``), so only a bool and a collection of
    strings are taken, each shaped like an ``Origin`` header (``scheme://host[:port]``,
    no path, not even ``/``): any other entry could never match and would only
    look like trust.
    """
    protection = values.get("cross_origin_protection", False)
    if not isinstance(protection, bool):
        raise ValueError(f"setting 'cross_origin_protection' must be True or False, got {protection!r}")
    trusted = values.get("trusted_origins", ())
    if isinstance(trusted, (str, bytes)) or not isinstance(trusted, Iterable):
        raise ValueError("setting 'trusted_origins' must be a list of origins such as 'https://example.com'")
    origins = frozenset(trusted)
    for origin in origins:
        if not isinstance(origin, str) or not _is_origin(origin):
            raise ValueError(f"setting 'trusted_origins': {origin!r} is not an origin such as 'https://example.com'")
    values["trusted_origins"] = origins


def _is_origin(value: str) -> bool:
    """Whether ``value`` has the shape of an ``Origin`` header's (RFC 6454 6.1), ``null`` included."""
    if value == "null":
        return True
    parts = urllib.parse.urlsplit(value)
    return bool(parts.scheme and parts.netloc) and not (parts.path or parts.query or parts.fragment or "@" in parts.netloc)


def _check_template_engine(values: dict[str, Any]) -> None:
    """Resolve ``template_engine`` from the template settings, or fail on ones that would not apply."""
    engine = values.get("template_engine", "jinja2")
    if engine not in ("jinja2", "tornado"):
        raise ValueError(f"setting 'template_engine' must be 'jinja2' or 'tornado', got {engine!r}")
    loader = values.get("template_loader")
    whitespace = values.get("template_whitespace")
    if loader is not None:
        if not callable(getattr(loader, "load", None)):
            raise ValueError("setting 'template_loader' must be a framework.template loader (with a load() method)")
        if "template_engine" in values and engine != "tornado":
            raise ValueError("setting 'template_loader' renders Tornado-syntax templates: drop template_engine='jinja2'")
        if whitespace is not None:
            raise ValueError(
                "setting 'template_whitespace' has no effect beside 'template_loader': pass whitespace= to the loader"
            )
        engine = "tornado"
    if whitespace is not None:
        if engine != "tornado":
            raise ValueError("setting 'template_whitespace' applies to Tornado-syntax templates: add template_engine='tornado'")
        if whitespace not in WHITESPACE_MODES:
            raise ValueError(f"setting 'template_whitespace' must be one of {', '.join(WHITESPACE_MODES)}, got {whitespace!r}")
    if engine == "tornado" and loader is None and isinstance(values.get("template_path"), tuple):
        raise ValueError("template_engine='tornado' reads one 'template_path' directory, not several")
    values["template_engine"] = engine


class LiveSettings(dict[str, Any]):
    """Tornado's ``Application.settings`` dict, with its typed ``AppSettings`` kept in step.

    Tornado reads its settings dict on every use, so applications change it
    after construction (a metrics layer wraps ``log_function``, a test turns
    ``xsrf_cookies`` off). Here the framework reads the typed object; every
    change through this dict is resolved again (the same checks as at
    start-up: a bad value raises ``ValueError`` and changes nothing) and the
    new ``AppSettings`` goes to ``on_change``. Keys only the application
    uses cost nothing more than a resolve on each change, which is rare.
    """

    __slots__ = ("_on_change",)

    def __init__(self, values: dict[str, Any], on_change: Callable[[AppSettings], None]) -> None:
        super().__init__(values)
        self._on_change = on_change
        self._commit(dict(self))

    def _commit(self, candidate: dict[str, Any]) -> None:
        config = resolve_settings(candidate)  # raises before anything changes
        dict.clear(self)
        dict.update(self, candidate)  # with the defaults debug implies
        self._on_change(config)

    def _changed(self, change: Callable[[dict[str, Any]], _T]) -> _T:
        candidate = dict(self)
        result = change(candidate)
        self._commit(candidate)
        return result

    def __setitem__(self, key: str, value: Any) -> None:
        self._changed(lambda d: d.__setitem__(key, value))

    def __delitem__(self, key: str) -> None:
        self._changed(lambda d: d.__delitem__(key))

    def update(self, *args: Any, **kwargs: Any) -> None:
        """``dict.update``, then resolved again."""
        self._changed(lambda d: d.update(*args, **kwargs))

    def setdefault(self, key: str, default: Any = None) -> Any:
        """``dict.setdefault``, resolved again when it adds the key."""
        if key in self:
            return self[key]
        return self._changed(lambda d: d.setdefault(key, default))

    def pop(self, key: str, *default: Any) -> Any:
        """``dict.pop``, then resolved again."""
        return self._changed(lambda d: d.pop(key, *default))

    def popitem(self) -> tuple[str, Any]:
        """``dict.popitem``, then resolved again."""
        return self._changed(lambda d: d.popitem())

    def clear(self) -> None:
        """``dict.clear``, then resolved again (every setting back to its default)."""
        self._changed(lambda d: d.clear())

    def __ior__(self, other: Any) -> LiveSettings:  # type: ignore[override, misc]
        self.update(other)
        return self
