"""Match each request to the delegate that will handle it (Tornado's ``tornado.routing``).

A ``Router`` is the server's ``HTTPServerConnectionDelegate``: once a request's
headers are in, ``find_handler`` picks the delegate that gets the rest.
``RuleRouter`` tries ``Rule`` objects (a ``Matcher`` and a target) in order;
``URLSpec`` (alias ``url``) is the rule the web ``Application`` is built from.

Strategy: paths are matched with ``re.match`` against a pattern anchored with
``$``, as Tornado does, but a pattern that is plain text (``/``, ``/healthz``)
is looked up in a dict first. The dict never changes which rule wins: a
literal is only indexed when no earlier rule could match its path, so the
answer is always the one the in-order scan would give.

This module imports only ``httputil`` from the framework (DESIGN.md's import
rules); percent-encoding uses ``urllib.parse`` directly.
"""

from __future__ import annotations

import functools
import importlib
import logging
import re
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, NamedTuple

from framework.httputil import (
    HTTPConnection,
    HTTPHeaders,
    HTTPMessageDelegate,
    HTTPServerConnectionDelegate,
    HTTPServerRequest,
    RequestStartLine,
    ResponseStartLine,
)

__all__ = [
    "AnyMatches",
    "DefaultHostMatches",
    "HostMatches",
    "Matcher",
    "PathMatches",
    "ReversibleRouter",
    "ReversibleRuleRouter",
    "Router",
    "Rule",
    "RuleRouter",
    "URLSpec",
    "url",
]

app_log = logging.getLogger("framework.application")

_NOT_FOUND_BODY = b"404: Not Found"


class Router(HTTPServerConnectionDelegate):
    """Chooses a message delegate for each request (Tornado's ``Router``).

    Being an ``HTTPServerConnectionDelegate``, any router can be handed to the
    server directly; subclasses only implement ``find_handler``.
    """

    def find_handler(self, request: HTTPServerRequest, **kwargs: Any) -> HTTPMessageDelegate | None:
        """Return the delegate for ``request``, or None when nothing matches.

        Args:
            request: the request whose headers have arrived (no body yet).
            **kwargs: extra routing data a parent router may pass down.
        """
        raise NotImplementedError()

    def start_request(self, server_conn: object, request_conn: HTTPConnection) -> HTTPMessageDelegate:
        """Route the request arriving on ``request_conn`` once its headers are in."""
        return _RoutingDelegate(self, server_conn, request_conn)


class ReversibleRouter(Router):
    """A router that can build URLs from route names (Tornado's ``ReversibleRouter``)."""

    def reverse_url(self, name: str, *args: Any) -> str | None:
        """Return the path of the route called ``name`` filled with ``args``, or None."""
        raise NotImplementedError()


class _RoutingDelegate(HTTPMessageDelegate):
    """Waits for the headers, asks the router, then forwards everything to its choice."""

    def __init__(self, router: Router, server_conn: object, request_conn: HTTPConnection) -> None:
        self.router = router
        self.server_conn = server_conn
        self.request_conn = request_conn
        # The server always calls headers_received first; until then a no-op stands in.
        self.delegate: HTTPMessageDelegate = _UNROUTED

    def headers_received(self, start_line: RequestStartLine, headers: HTTPHeaders) -> Awaitable[None] | None:
        request = HTTPServerRequest.from_start_line(start_line, headers, self.request_conn, self.server_conn)
        delegate = self.router.find_handler(request)
        if delegate is None:
            app_log.debug("no route for %s %s", request.method, request.uri)
            delegate = _NotFoundDelegate(self.request_conn)
        self.delegate = delegate
        return delegate.headers_received(start_line, headers)

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        return self.delegate.data_received(chunk)

    def finish(self) -> None:
        self.delegate.finish()

    def on_connection_close(self) -> None:
        self.delegate.on_connection_close()


_UNROUTED = HTTPMessageDelegate()


class _NotFoundDelegate(HTTPMessageDelegate):
    """Answers 404 once the request body has been read, so the connection stays usable."""

    def __init__(self, connection: HTTPConnection) -> None:
        self.connection = connection

    def finish(self) -> None:
        headers = HTTPHeaders({"Content-Length": str(len(_NOT_FOUND_BODY)), "Content-Type": "text/plain"})
        self.connection.write_headers(ResponseStartLine("HTTP/1.1", 404, "Not Found"), headers, _NOT_FOUND_BODY)
        self.connection.finish()


class _CallableAdapter(HTTPMessageDelegate):
    """Collects the body, then calls a plain function with the request (Tornado's ``_CallableAdapter``).

    Tornado's adapter builds a second ``HTTPServerRequest``; this one reuses the
    request the router already built.
    """

    def __init__(self, callback: Callable[[HTTPServerRequest], object], request: HTTPServerRequest) -> None:
        self.callback = callback
        self.request = request
        self._chunks: list[bytes] = []

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        self._chunks.append(chunk)
        return None

    def finish(self) -> None:
        self.request.body = b"".join(self._chunks)
        self.request._parse_body()
        self.callback(self.request)

    def on_connection_close(self) -> None:
        self._chunks = []


class RuleRouter(Router):
    """Tries its rules in order; the first whose delegate is not None wins (Tornado's ``RuleRouter``).

    ``rules`` is a public list as in Tornado, whose ``Application`` edits it in
    place (``rules.insert(-1, ...)``): the literal-path index notices a change
    of length and rebuilds. Replacing an element in place is not noticed.

    Args:
        rules: ``Rule`` objects or ``(matcher_or_pattern, target[, target_kwargs[, name]])``
            tuples; a str pattern becomes a ``PathMatches``.
    """

    def __init__(self, rules: Iterable[Rule | Sequence[Any]] | None = None) -> None:
        self.rules: list[Rule] = []
        self._index = _RuleIndex()
        if rules:
            self.add_rules(rules)

    def add_rules(self, rules: Iterable[Rule | Sequence[Any]]) -> None:
        """Append rules, converting tuples, and pass each through ``process_rule``.

        Raises:
            ValueError: a tuple has the wrong length or a pattern is not a valid regex.
        """
        self._refresh_index()
        for spec in rules:
            rule = self.process_rule(_as_rule(spec))
            self.rules.append(rule)
            self._index.add(rule)

    def process_rule(self, rule: Rule) -> Rule:
        """Hook for subclasses to check or rewrite each rule as it is added."""
        return rule

    def find_handler(self, request: HTTPServerRequest, **kwargs: Any) -> HTTPMessageDelegate | None:
        """Return the delegate of the first matching rule, or None (mirrors Tornado)."""
        self._refresh_index()
        index = self._index
        # Speed (STYLE.md rule 15): a dict lookup for literal paths before the
        # regex scan; loadtest/bench_routing.py measures the two over 50 routes.
        skip_through = -1
        hit = index.literals.get(request.path)
        if hit is not None:
            skip_through, rule = hit
            delegate = self._delegate_for(rule, {}, request)
            if delegate is not None:
                return delegate
        for position, rule in index.scanned:
            if position < skip_through:
                continue
            params = rule.matcher.match(request)
            if params is not None:
                delegate = self._delegate_for(rule, params, request)
                if delegate is not None:
                    return delegate
        return None

    def get_target_delegate(self, target: Any, request: HTTPServerRequest, **target_params: Any) -> HTTPMessageDelegate | None:
        """Turn a rule's target into a delegate (mirrors Tornado; ``Application`` overrides it).

        A ``Router`` is asked in turn, an ``HTTPServerConnectionDelegate`` is
        started, any other callable is called with the whole request (and
        ``target_params`` as keywords, as in Tornado).

        Returns:
            The delegate, or None so the next rule is tried.
        """
        if isinstance(target, Router):
            return target.find_handler(request, **target_params)
        if isinstance(target, HTTPServerConnectionDelegate):
            if request.connection is None:
                raise RuntimeError("a request without a connection cannot start a delegate's request")
            return target.start_request(request.server_connection, request.connection)
        if callable(target):
            return _CallableAdapter(functools.partial(target, **target_params), request)
        return None

    def _delegate_for(self, rule: Rule, params: dict[str, Any], request: HTTPServerRequest) -> HTTPMessageDelegate | None:
        if rule.target_kwargs:
            params["target_kwargs"] = rule.target_kwargs
        return self.get_target_delegate(rule.target, request, **params)

    def _refresh_index(self) -> None:
        if self._index.size != len(self.rules):
            self._index = _RuleIndex()
            for rule in self.rules:
                self._index.add(rule)


class _RuleIndex:
    """Literal paths in a dict, every other rule in order for the scan.

    A ``PathMatches`` rule whose pattern is plain text goes in the dict only if
    no earlier rule could match its path: earlier scanned rules are all
    ``PathMatches`` (checked by running their regex on the literal), and after
    any other kind of matcher (host, custom) nothing more is indexed, because
    what it matches cannot be known in advance. So a dict hit is the rule the
    in-order scan would have found first; if its delegate is None, the scan
    resumes after it. The dict compares exactly, where ``$`` would also accept
    a trailing newline that the HTTP/1.1 parser never lets into a path.
    """

    __slots__ = ("literals", "scanned", "size", "_regexes", "_blocked")

    def __init__(self) -> None:
        self.literals: dict[str, tuple[int, Rule]] = {}
        self.scanned: list[tuple[int, Rule]] = []
        self.size = 0
        self._regexes: list[re.Pattern[str]] = []
        self._blocked = False

    def add(self, rule: Rule) -> None:
        """Index the rule that comes after every rule added so far."""
        position = self.size
        self.size += 1
        matcher = rule.matcher
        # Subclasses of PathMatches may override match(), so they count as opaque.
        if not isinstance(matcher, PathMatches) or type(matcher) is not PathMatches:
            self._blocked = True
        elif matcher.literal_path is not None and self._indexable(matcher.literal_path):
            self.literals[matcher.literal_path] = (position, rule)
            return
        else:
            self._regexes.append(matcher.regex)
        self.scanned.append((position, rule))

    def _indexable(self, literal: str) -> bool:
        if self._blocked or literal in self.literals:
            return False
        return not any(regex.match(literal) for regex in self._regexes)


def _as_rule(spec: Rule | Sequence[Any]) -> Rule:
    """A ``Rule`` as is; a ``(pattern_or_matcher, target[, kwargs[, name]])`` tuple converted."""
    if isinstance(spec, Rule):
        return spec
    if not isinstance(spec, (tuple, list)) or not 2 <= len(spec) <= 4:
        raise ValueError(f"a rule is a Rule or a (pattern, target[, kwargs[, name]]) tuple, not {spec!r}")
    matcher, *rest = spec
    if isinstance(matcher, str):
        matcher = PathMatches(matcher)
    return Rule(matcher, *rest)


class ReversibleRuleRouter(ReversibleRouter, RuleRouter):
    """A ``RuleRouter`` with named rules and ``reverse_url`` (Tornado's ``ReversibleRuleRouter``).

    Difference from Tornado: a name used twice raises ``ValueError`` when the
    second rule is added (Tornado logs a warning and keeps the later rule), so
    a typo in a routing table fails at start-up instead of in a template.
    """

    def __init__(self, rules: Iterable[Rule | Sequence[Any]] | None = None) -> None:
        self.named_rules: dict[str, Rule] = {}
        super().__init__(rules)

    def process_rule(self, rule: Rule) -> Rule:
        """Record named rules.

        Raises:
            ValueError: the name is already taken.
        """
        rule = super().process_rule(rule)
        if rule.name:
            previous = self.named_rules.get(rule.name)
            if previous is not None:
                raise ValueError(f"route name {rule.name!r} is used twice: by {_describe(previous)} and {_describe(rule)}")
            self.named_rules[rule.name] = rule
        return rule

    def reverse_url(self, name: str, *args: Any) -> str | None:
        """This router's named rules first, then nested reversible routers, in order (mirrors Tornado).

        Raises:
            ValueError: the named route cannot be reversed or takes another number of arguments.
        """
        if name in self.named_rules:
            return self.named_rules[name].matcher.reverse(*args)
        for rule in self.rules:
            if isinstance(rule.target, ReversibleRouter):
                path = rule.target.reverse_url(name, *args)
                if path is not None:
                    return path
        return None


def _describe(rule: Rule) -> str:
    matcher = rule.matcher
    return repr(matcher.regex.pattern) if isinstance(matcher, PathMatches) else repr(matcher)


class Rule:
    """A matcher and the target it routes to (Tornado's ``Rule``).

    Optional arguments stay positional because Tornado's routing tables pass
    them that way (``(pattern, Handler, {"db": db}, "name")``).
    """

    def __init__(
        self, matcher: Matcher, target: Any, target_kwargs: dict[str, Any] | None = None, name: str | None = None
    ) -> None:
        """Pair a matcher with its target.

        Args:
            matcher: decides whether a request belongs to this rule.
            target: a ``Router``, an ``HTTPServerConnectionDelegate``, a callable, or
                (for the web layer) a handler class; a str is imported by dotted name.
            target_kwargs: passed to the target when it is created.
            name: for ``reverse_url``.

        Raises:
            TypeError: ``matcher`` is not a ``Matcher`` (a common slip is a bare pattern).
        """
        if not isinstance(matcher, Matcher):
            raise TypeError(f"Rule needs a Matcher, not {matcher!r}; use PathMatches(pattern) or a tuple")
        if isinstance(target, str):
            target = _import_object(target)
        self.matcher = matcher
        self.target = target
        self.target_kwargs: dict[str, Any] = target_kwargs or {}
        self.name = name

    def reverse(self, *args: Any) -> str | None:
        """The matcher's URL for ``args`` (see ``Matcher.reverse``)."""
        return self.matcher.reverse(*args)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.matcher!r}, {self.target!r}, kwargs={self.target_kwargs!r}, name={self.name!r})"


def _import_object(name: str) -> Any:
    """``"package.module.attr"`` -> the object, as Tornado's ``import_object`` does for rule targets."""
    module_name, _, attr = name.rpartition(".")
    if not module_name:
        return importlib.import_module(name)
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ImportError(f"no object {attr!r} in module {module_name!r}") from None


class Matcher:
    """Decides whether a request belongs to a rule (Tornado's ``Matcher``)."""

    def match(self, request: HTTPServerRequest) -> dict[str, Any] | None:
        """Return keyword arguments for the target's delegate, or None for no match."""
        raise NotImplementedError()

    def reverse(self, *args: Any) -> str | None:
        """Rebuild the URL this matcher accepts, or None if it has no URL form."""
        return None


class AnyMatches(Matcher):
    """Matches every request (Tornado's ``AnyMatches``)."""

    def match(self, request: HTTPServerRequest) -> dict[str, Any] | None:
        return {}

    def __repr__(self) -> str:
        return "AnyMatches()"


class HostMatches(Matcher):
    """Matches ``request.host_name`` (port removed) against a regex (Tornado's ``HostMatches``)."""

    def __init__(self, host_pattern: str | re.Pattern[str]) -> None:
        """Compile ``host_pattern``, adding a final ``$`` to a str that lacks one.

        Raises:
            ValueError: the pattern is not a valid regex.
        """
        self.host_pattern = _compile_anchored(host_pattern)

    def match(self, request: HTTPServerRequest) -> dict[str, Any] | None:
        return {} if self.host_pattern.match(request.host_name) else None

    def __repr__(self) -> str:
        return f"HostMatches({self.host_pattern.pattern!r})"


class DefaultHostMatches(Matcher):
    """Matches when the application's ``default_host`` fits the pattern (Tornado's ``DefaultHostMatches``).

    Requests relayed by a proxy that sets ``X-Real-Ip`` never match, as in
    Tornado, so they are routed by their real ``Host`` instead. Nothing
    matches while the application has no ``default_host`` (Tornado would
    raise a TypeError there).
    """

    def __init__(self, application: Any, host_pattern: re.Pattern[str]) -> None:
        self.application = application
        self.host_pattern = host_pattern

    def match(self, request: HTTPServerRequest) -> dict[str, Any] | None:
        default_host = self.application.default_host
        if default_host is None or "X-Real-Ip" in request.headers:
            return None
        return {} if self.host_pattern.match(default_host) else None


class PathMatches(Matcher):
    """Matches ``request.path`` against a regex and captures its groups (Tornado's ``PathMatches``).

    As in Tornado, ``reverse`` leaves ``/`` in arguments unescaped, so a
    group that captures a sub-path (a static file) reverses naturally.
    """

    def __init__(self, path_pattern: str | re.Pattern[str]) -> None:
        """Compile ``path_pattern``, adding a final ``$`` to a str that lacks one.

        ``re.match`` anchors the start; the reverse template is worked out here, once.

        Raises:
            ValueError: the pattern is not a valid regex.
        """
        self.regex = _compile_anchored(path_pattern)
        self._template = _parse_template(self.regex.pattern, self.regex.groups)
        self.literal_path = self._find_literal()
        """The exact path this pattern accepts when it is plain text, else None."""

    def match(self, request: HTTPServerRequest) -> dict[str, Any] | None:
        """Return ``{"path_args": [...], "path_kwargs": {...}}`` or None.

        Unnamed groups become ``path_args``; if the pattern has named groups,
        only those are passed, as ``path_kwargs``. Values are percent-decoded
        bytes (the handler layer decodes them, answering 400 for bad UTF-8);
        a group that did not take part is None.
        """
        found = self.regex.match(request.path)
        if found is None:
            return None
        if not self.regex.groups:
            return {}
        if self.regex.groupindex:
            kwargs = {name: _unquote_or_none(value) for name, value in found.groupdict().items()}
            return {"path_args": [], "path_kwargs": kwargs}
        return {"path_args": [_unquote_or_none(value) for value in found.groups()], "path_kwargs": {}}

    def reverse(self, *args: Any) -> str | None:
        """Fill the pattern's groups with ``args``, percent-encoded (``quote(arg, safe="/")``).

        Raises:
            ValueError: the pattern is more than literal text and non-nested
                groups, or ``args`` does not have one value per group.
        """
        if self._template is None:
            raise ValueError(
                f"cannot reverse route pattern {self.regex.pattern!r}: "
                "only literal text and non-nested capturing groups can be reversed"
            )
        if len(args) != self.regex.groups:
            raise ValueError(f"route pattern {self.regex.pattern!r} takes {self.regex.groups} argument(s), got {len(args)}")
        values = iter(args)
        return "".join(_escape_arg(next(values)) if piece is None else piece for piece in self._template.pieces)

    def _find_literal(self) -> str | None:
        template = self._template
        plain_flags = self.regex.flags & ~re.UNICODE == 0
        if template is None or not template.exact or not plain_flags or not _ends_with_anchor(self.regex.pattern):
            return None
        literal = "".join(piece for piece in template.pieces if piece is not None)
        # A cheap guard that the dict can never disagree with the regex.
        return literal if self.regex.fullmatch(literal) else None

    def __repr__(self) -> str:
        return f"PathMatches({self.regex.pattern!r})"


def _compile_anchored(pattern: str | re.Pattern[str]) -> re.Pattern[str]:
    if not isinstance(pattern, str):
        return pattern
    source = pattern if _ends_with_anchor(pattern) else pattern + "$"
    try:
        return re.compile(source)
    except re.error as err:
        raise ValueError(f"invalid route pattern {pattern!r}: {err}") from err


def _ends_with_anchor(pattern: str) -> bool:
    """True if the pattern ends with ``$`` that is not escaped as ``\\$``."""
    if not pattern.endswith("$"):
        return False
    before = pattern[:-1]
    return (len(before) - len(before.rstrip("\\"))) % 2 == 0


def _unquote_or_none(value: str | None) -> bytes | None:
    return None if value is None else urllib.parse.unquote_to_bytes(value)


def _escape_arg(value: object) -> str:
    # As Tornado's reverse_url: everything but unreserved characters and "/"
    # is escaped, so a group such as a static file path keeps its slashes.
    if not isinstance(value, (str, bytes)):
        value = str(value)
    return urllib.parse.quote(value, safe="/")


class _Template(NamedTuple):
    """A pattern split into literal text and group slots (None)."""

    pieces: tuple[str | None, ...]
    exact: bool
    """No slots and no unescaped ``.``: the pattern accepts exactly one path."""


# One token of a pattern: an escaped character, a capturing group that holds
# no other group (character classes inside it may hold parentheses), a
# character with a regex meaning, or a run of plain text.
_TOKEN = re.compile(
    r"\\(?P<escaped>.)"
    r"|(?P<group>\((?:\?P<\w+>)?(?:\\.|\[\^?\]?(?:\\.|[^\]\\])*\]|[^()\\\[])*\))"
    r"|(?P<meta>[()^$*+?{}\[\]|])"
    r"|(?P<text>[^\\()^$*+?{}\[\]|]+)",
    re.DOTALL,
)


def _parse_template(pattern: str, group_count: int) -> _Template | None:
    """Split a pattern for ``reverse``, or None if it is not literal text and plain groups.

    This is Tornado's rule (each top-level group becomes one argument) with a
    stricter check: quantifiers, alternation, classes outside groups, nested or
    non-capturing groups and ``\\d``-style escapes make a pattern unreversible
    instead of producing a wrong URL. An unescaped ``.`` is kept as a literal
    dot, since Tornado users write ``/favicon.ico``; it only stops the pattern
    from being ``exact``.
    """
    body = pattern[1:] if pattern.startswith("^") else pattern
    body = body[:-1] if _ends_with_anchor(body) else body
    pieces: list[str | None] = []
    exact = True
    for token in _TOKEN.finditer(body):
        kind, value = token.lastgroup, token[0]
        if kind == "text":
            pieces.append(value)
            exact = exact and "." not in value
        elif kind == "escaped" and not token["escaped"].isalnum():  # \d, \w, \1 are not text
            pieces.append(token["escaped"])
        elif kind == "group":
            pieces.append(None)
            exact = False
        else:
            return None
    if pieces.count(None) != group_count:
        return None
    return _Template(tuple(pieces), exact)


class URLSpec(Rule):
    """A path pattern routed to a handler class (Tornado's ``URLSpec``, also ``url``).

    Keeps Tornado's attributes: ``regex``, ``handler_class``, ``kwargs``,
    ``name`` and ``matcher``.
    """

    def __init__(
        self,
        pattern: str | re.Pattern[str],
        handler: Any,
        kwargs: dict[str, Any] | None = None,
        name: str | None = None,
    ) -> None:
        """Route paths matching ``pattern`` to ``handler``.

        Args:
            pattern: a regex for the path; groups become the handler's arguments.
            handler: a ``RequestHandler`` subclass, or its dotted name.
            kwargs: passed to the handler's ``initialize``.
            name: for ``reverse_url``.

        Raises:
            ValueError: the pattern is not a valid regex.
        """
        matcher = PathMatches(pattern)
        super().__init__(matcher, handler, kwargs, name)
        self.matcher: PathMatches = matcher
        self.regex = matcher.regex
        self.handler_class = self.target
        self.kwargs = self.target_kwargs

    def __repr__(self) -> str:
        return f"URLSpec({self.regex.pattern!r}, {self.handler_class!r}, {self.kwargs!r}, name={self.name!r})"


url = URLSpec
