"""Tornado 6's public modules and names, checked against ``framework`` by introspection.

The list below is written from Tornado 6's documentation (tornadoweb.org: one
entry per documented module, its names gathered into the groups its pages
describe), not from Tornado's source; Tornado is not installed here. A name
``Class.attr`` is a class-level attribute (method, property, constant);
attributes that Tornado itself only sets on instances are left out. A group is *provided* when every name resolves,
*partial* when some do, *missing* when none do (an attribute a class's ``__init__`` assigns counts
as there: Tornado documents some of those as properties); a module is *provided* when
all its groups are, *missing* when it does not import.

As a script it prints the table the README's "Moving from Tornado" section
shows::

    python tests/test_tornado_api.py                 # framework as importable now
    python tests/test_tornado_api.py --before 8bbc3bb  # and that commit, side by side

As a test it checks that nothing the table says is provided goes missing.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# module -> group -> names, from Tornado 6's documentation.
TORNADO: dict[str, dict[str, tuple[str, ...]]] = {
    "web": {
        "RequestHandler entry points": (
            "RequestHandler", "RequestHandler.initialize", "RequestHandler.prepare", "RequestHandler.on_finish",
            "RequestHandler.on_connection_close", "RequestHandler.data_received", "RequestHandler.SUPPORTED_METHODS",
        ),
        "RequestHandler input": (
            "RequestHandler.get_argument", "RequestHandler.get_arguments", "RequestHandler.get_query_argument",
            "RequestHandler.get_query_arguments", "RequestHandler.get_body_argument",
            "RequestHandler.get_body_arguments", "RequestHandler.decode_argument",
        ),
        "RequestHandler output": (
            "RequestHandler.set_status", "RequestHandler.get_status", "RequestHandler.set_header",
            "RequestHandler.add_header", "RequestHandler.clear_header", "RequestHandler.set_default_headers",
            "RequestHandler.write", "RequestHandler.flush", "RequestHandler.finish", "RequestHandler.render",
            "RequestHandler.render_string", "RequestHandler.get_template_namespace", "RequestHandler.redirect",
            "RequestHandler.send_error", "RequestHandler.write_error", "RequestHandler.clear",
        ),
        "RequestHandler page resources": (
            "RequestHandler.render_linked_js", "RequestHandler.render_embed_js",
            "RequestHandler.render_linked_css", "RequestHandler.render_embed_css",
        ),
        "RequestHandler cookies": (
            "RequestHandler.cookies", "RequestHandler.get_cookie", "RequestHandler.set_cookie",
            "RequestHandler.clear_cookie", "RequestHandler.clear_all_cookies",
        ),
        "RequestHandler signed cookies": (
            "RequestHandler.get_signed_cookie", "RequestHandler.set_signed_cookie",
            "RequestHandler.get_secure_cookie", "RequestHandler.set_secure_cookie",
            "RequestHandler.get_signed_cookie_key_version", "RequestHandler.get_secure_cookie_key_version",
            "RequestHandler.create_signed_value",
        ),
        "RequestHandler users": (
            "RequestHandler.current_user", "RequestHandler.get_current_user", "RequestHandler.get_login_url",
        ),
        "RequestHandler XSRF": (
            "RequestHandler.xsrf_token", "RequestHandler.xsrf_form_html", "RequestHandler.check_xsrf_cookie",
            "RequestHandler.check_trusted_origin",
        ),
        "RequestHandler locale": (
            "RequestHandler.locale", "RequestHandler.get_user_locale", "RequestHandler.get_browser_locale",
        ),
        "RequestHandler templates and URLs": (
            "RequestHandler.get_template_path", "RequestHandler.create_template_loader",
            "RequestHandler.static_url", "RequestHandler.reverse_url", "RequestHandler.require_setting",
            "RequestHandler.settings",
        ),
        "RequestHandler ETags": (
            "RequestHandler.compute_etag", "RequestHandler.set_etag_header", "RequestHandler.check_etag_header",
        ),
        "RequestHandler other": ("RequestHandler.log_exception", "RequestHandler.detach"),
        "Application": (
            "Application", "Application.listen", "Application.add_handlers", "Application.get_handler_delegate",
            "Application.reverse_url", "Application.log_request",
        ),
        "url / URLSpec": ("url", "URLSpec"),
        "decorators": ("authenticated", "addslash", "removeslash", "stream_request_body"),
        "exceptions": ("HTTPError", "Finish", "MissingArgumentError"),
        "built-in handlers": ("ErrorHandler", "FallbackHandler", "RedirectHandler"),
        "StaticFileHandler": (
            "StaticFileHandler", "StaticFileHandler.make_static_url", "StaticFileHandler.get_version",
            "StaticFileHandler.get_absolute_path", "StaticFileHandler.validate_absolute_path",
            "StaticFileHandler.get_content", "StaticFileHandler.get_content_version",
            "StaticFileHandler.get_content_size", "StaticFileHandler.get_modified_time",
            "StaticFileHandler.get_content_type", "StaticFileHandler.set_extra_headers",
            "StaticFileHandler.get_cache_time", "StaticFileHandler.parse_url_path",
            "StaticFileHandler.should_return_304", "StaticFileHandler.reset",
        ),
        "UI modules": (
            "UIModule", "TemplateModule", "UIModule.render", "UIModule.embedded_javascript",
            "UIModule.javascript_files", "UIModule.embedded_css", "UIModule.css_files", "UIModule.html_head",
            "UIModule.html_body", "UIModule.render_string",
        ),
        "output transforms": ("OutputTransform", "GZipContentEncoding"),
        "signed values": ("create_signed_value", "decode_signed_value", "get_signature_key_version"),
    },
    "template": {
        "Template": ("Template", "Template.generate"),
        "loaders": (
            "BaseLoader", "Loader", "DictLoader", "BaseLoader.load", "BaseLoader.reset", "BaseLoader.resolve_path",
        ),
        "errors and whitespace": ("ParseError", "filter_whitespace"),
    },
    "routing": {
        "routers": (
            "Router", "ReversibleRouter", "RuleRouter", "ReversibleRuleRouter", "Router.find_handler",
            "ReversibleRouter.reverse_url", "RuleRouter.add_rules", "RuleRouter.process_rule",
            "RuleRouter.get_target_delegate",
        ),
        "rules and matchers": (
            "Rule", "Matcher", "AnyMatches", "HostMatches", "DefaultHostMatches", "PathMatches", "URLSpec",
            "Matcher.match", "Matcher.reverse",
        ),
    },
    "escape": {
        "escaping": ("xhtml_escape", "xhtml_unescape", "url_escape", "url_unescape", "json_encode", "json_decode"),
        "bytes and strings": ("utf8", "to_unicode", "native_str", "to_basestring", "recursive_unicode"),
        "text": ("linkify", "squeeze"),
    },
    "locale": {
        "module functions": (
            "get", "load_translations", "load_gettext_translations", "get_supported_locales", "set_default_locale",
        ),
        "Locale": (
            "Locale", "Locale.get", "Locale.get_closest", "Locale.translate", "Locale.pgettext",
            "Locale.format_date", "Locale.format_day", "Locale.list", "Locale.friendly_number", "CSVLocale",
            "GettextLocale",
        ),
    },
    "websocket": {
        "WebSocketHandler events": (
            "WebSocketHandler", "WebSocketHandler.open", "WebSocketHandler.on_message", "WebSocketHandler.on_close",
            "WebSocketHandler.select_subprotocol", "WebSocketHandler.selected_subprotocol",
            "WebSocketHandler.on_ping", "WebSocketHandler.on_pong",
        ),
        "WebSocketHandler output": ("WebSocketHandler.write_message", "WebSocketHandler.close", "WebSocketHandler.ping"),
        "WebSocketHandler configuration": (
            "WebSocketHandler.check_origin", "WebSocketHandler.get_compression_options",
            "WebSocketHandler.ping_interval", "WebSocketHandler.ping_timeout", "WebSocketHandler.max_message_size",
            "WebSocketHandler.set_nodelay",
        ),
        "client": (
            "websocket_connect", "WebSocketClientConnection", "WebSocketClientConnection.close",
            "WebSocketClientConnection.write_message", "WebSocketClientConnection.read_message",
            "WebSocketClientConnection.ping", "WebSocketClientConnection.selected_subprotocol",
        ),
        "errors": ("WebSocketClosedError",),
    },
    "httpserver": {
        "HTTPServer": (
            "HTTPServer", "HTTPServer.listen", "HTTPServer.bind", "HTTPServer.start", "HTTPServer.stop",
            "HTTPServer.add_sockets", "HTTPServer.add_socket", "HTTPServer.close_all_connections",
        ),
    },
    "httpclient": {
        "AsyncHTTPClient": ("AsyncHTTPClient", "AsyncHTTPClient.fetch", "AsyncHTTPClient.close", "AsyncHTTPClient.configure"),
        "HTTPClient": ("HTTPClient", "HTTPClient.fetch", "HTTPClient.close"),
        "request and response": ("HTTPRequest", "HTTPResponse", "HTTPResponse.rethrow", "HTTPResponse.body"),
        "errors": ("HTTPClientError", "HTTPError"),
        "command line": ("main",),
    },
    "httputil": {
        "HTTPHeaders": (
            "HTTPHeaders", "HTTPHeaders.add", "HTTPHeaders.get_list", "HTTPHeaders.get_all",
            "HTTPHeaders.parse_line", "HTTPHeaders.parse",
        ),
        "HTTPServerRequest": (
            "HTTPServerRequest", "HTTPServerRequest.full_url", "HTTPServerRequest.request_time",
            "HTTPServerRequest.get_ssl_certificate", "HTTPServerRequest.cookies",
        ),
        "server/application seam": (
            "HTTPServerConnectionDelegate", "HTTPServerConnectionDelegate.start_request",
            "HTTPServerConnectionDelegate.on_close", "HTTPMessageDelegate", "HTTPMessageDelegate.headers_received",
            "HTTPMessageDelegate.data_received", "HTTPMessageDelegate.finish",
            "HTTPMessageDelegate.on_connection_close", "HTTPConnection", "HTTPConnection.write_headers",
            "HTTPConnection.write", "HTTPConnection.finish",
        ),
        "errors": ("HTTPInputError", "HTTPOutputError"),
        "bodies and files": (
            "HTTPFile", "parse_body_arguments", "parse_multipart_form_data", "ParseBodyConfig",
            "ParseMultipartConfig", "ParseUrlEncodedConfig", "set_parse_body_config",
        ),
        "start lines": (
            "RequestStartLine", "parse_request_start_line", "ResponseStartLine", "parse_response_start_line",
        ),
        "helpers": (
            "url_concat", "format_timestamp", "encode_username_password", "split_host_and_port", "qs_to_qsl",
            "parse_cookie",
        ),
    },
    "http1connection": {
        "HTTP/1.x connections": (
            "HTTP1Connection", "HTTP1ConnectionParameters", "HTTP1ServerConnection",
            "HTTP1Connection.set_close_callback", "HTTP1Connection.detach", "HTTP1Connection.set_body_timeout",
            "HTTP1Connection.set_max_body_size", "HTTP1Connection.write_headers", "HTTP1Connection.write",
            "HTTP1Connection.finish", "HTTP1Connection.read_response", "HTTP1ServerConnection.close",
            "HTTP1ServerConnection.start_serving",
        ),
    },
    "ioloop": {
        "IOLoop running": (
            "IOLoop", "IOLoop.current", "IOLoop.make_current", "IOLoop.clear_current", "IOLoop.start",
            "IOLoop.stop", "IOLoop.run_sync", "IOLoop.close", "IOLoop.instance", "IOLoop.install",
            "IOLoop.clear_instance",
        ),
        "IOLoop file descriptors": (
            "IOLoop.add_handler", "IOLoop.update_handler", "IOLoop.remove_handler", "IOLoop.READ", "IOLoop.WRITE",
            "IOLoop.ERROR",
        ),
        "IOLoop callbacks and timeouts": (
            "IOLoop.add_callback", "IOLoop.add_callback_from_signal", "IOLoop.add_future", "IOLoop.add_timeout",
            "IOLoop.call_at", "IOLoop.call_later", "IOLoop.remove_timeout", "IOLoop.spawn_callback",
            "IOLoop.run_in_executor", "IOLoop.set_default_executor", "IOLoop.time",
        ),
        "PeriodicCallback": (
            "PeriodicCallback", "PeriodicCallback.start", "PeriodicCallback.stop", "PeriodicCallback.is_running",
        ),
    },
    "iostream": {
        "reading": (
            "BaseIOStream", "IOStream", "PipeIOStream", "BaseIOStream.read_until", "BaseIOStream.read_until_regex",
            "BaseIOStream.read_bytes", "BaseIOStream.read_into", "BaseIOStream.read_until_close",
        ),
        "writing and state": (
            "BaseIOStream.write", "BaseIOStream.close", "BaseIOStream.set_close_callback", "BaseIOStream.closed",
            "BaseIOStream.reading", "BaseIOStream.writing", "BaseIOStream.set_nodelay",
        ),
        "connect and TLS": ("IOStream.connect", "IOStream.start_tls", "SSLIOStream", "SSLIOStream.wait_for_handshake"),
        "errors": ("StreamClosedError", "UnsatisfiableReadError", "StreamBufferFullError"),
    },
    "netutil": {
        "sockets": ("bind_sockets", "bind_unix_socket", "add_accept_handler", "is_valid_ip"),
        "resolvers": (
            "Resolver", "Resolver.resolve", "Resolver.close", "Resolver.configure", "DefaultExecutorResolver",
            "DefaultLoopResolver", "ExecutorResolver", "BlockingResolver", "ThreadedResolver", "OverrideResolver",
        ),
        "TLS": ("ssl_options_to_context", "ssl_wrap_socket"),
    },
    "tcpclient": {"TCPClient": ("TCPClient", "TCPClient.connect", "TCPClient.close")},
    "tcpserver": {
        "TCPServer": (
            "TCPServer", "TCPServer.listen", "TCPServer.add_sockets", "TCPServer.add_socket", "TCPServer.bind",
            "TCPServer.start", "TCPServer.stop", "TCPServer.handle_stream",
        ),
    },
    "gen": {
        "coroutines": ("coroutine", "Return", "convert_yielded", "moment", "sleep", "is_coroutine_function"),
        "several futures": ("multi", "multi_future", "maybe_future"),
        "timeouts": ("with_timeout", "TimeoutError"),
        "WaitIterator": ("WaitIterator", "WaitIterator.next", "WaitIterator.done"),
    },
    "locks": {
        "Condition": ("Condition", "Condition.wait", "Condition.notify", "Condition.notify_all"),
        "Event": ("Event", "Event.is_set", "Event.set", "Event.clear", "Event.wait"),
        "Semaphore": ("Semaphore", "BoundedSemaphore", "Semaphore.acquire", "Semaphore.release"),
        "Lock": ("Lock", "Lock.acquire", "Lock.release"),
    },
    "queues": {
        "Queue": (
            "Queue", "Queue.maxsize", "Queue.qsize", "Queue.empty", "Queue.full", "Queue.put", "Queue.put_nowait",
            "Queue.get", "Queue.get_nowait", "Queue.task_done", "Queue.join",
        ),
        "variants and errors": ("PriorityQueue", "LifoQueue", "QueueEmpty", "QueueFull"),
    },
    "process": {
        "forking": ("fork_processes", "task_id", "cpu_count"),
        "Subprocess": (
            "Subprocess", "Subprocess.set_exit_callback", "Subprocess.wait_for_exit", "Subprocess.initialize",
            "Subprocess.uninitialize", "Subprocess.STREAM", "CalledProcessError",
        ),
    },
    "auth": {
        "OAuth 2": (
            "OAuth2Mixin", "OAuth2Mixin.authorize_redirect", "OAuth2Mixin.oauth2_request",
            "OAuth2Mixin.get_auth_http_client",
        ),
        "Google": (
            "GoogleOAuth2Mixin", "GoogleOAuth2Mixin.get_authenticated_user", "GoogleOAuth2Mixin.get_google_oauth_settings",
        ),
        "Facebook": ("FacebookGraphMixin", "FacebookGraphMixin.get_authenticated_user", "FacebookGraphMixin.facebook_request"),
        "OAuth 1.0a": ("OAuthMixin", "OAuthMixin.authorize_redirect", "OAuthMixin.get_authenticated_user"),
        "Twitter": ("TwitterMixin", "TwitterMixin.authenticate_redirect", "TwitterMixin.twitter_request"),
        "OpenID": ("OpenIdMixin", "OpenIdMixin.authenticate_redirect", "OpenIdMixin.get_authenticated_user"),
        "errors": ("AuthError",),
    },
    "wsgi": {"WSGIContainer": ("WSGIContainer", "WSGIContainer.environ")},
    "platform.asyncio": {
        "loops": ("AsyncIOMainLoop", "AsyncIOLoop"),
        "futures and policies": ("to_asyncio_future", "to_tornado_future", "AnyThreadEventLoopPolicy"),
        "selector thread": ("AddThreadSelectorEventLoop",),
    },
    "platform.caresresolver": {"CaresResolver": ("CaresResolver",)},
    "platform.twisted": {"TwistedResolver": ("TwistedResolver",)},
    "autoreload": {"restarting": ("start", "wait", "watch", "add_reload_hook", "main")},
    "concurrent": {
        "futures": (
            "Future", "run_on_executor", "chain_future", "future_set_result_unless_cancelled",
            "future_set_exception_unless_cancelled", "future_set_exc_info", "future_add_done_callback",
        ),
    },
    "log": {
        "loggers": ("access_log", "app_log", "gen_log"),
        "formatting": ("LogFormatter", "enable_pretty_logging", "define_logging_options"),
    },
    "options": {
        "module functions": (
            "define", "options", "parse_command_line", "parse_config_file", "print_help", "add_parse_callback",
        ),
        "OptionParser": (
            "OptionParser", "OptionParser.define", "OptionParser.parse_command_line",
            "OptionParser.parse_config_file", "OptionParser.print_help", "OptionParser.add_parse_callback",
            "OptionParser.run_parse_callbacks", "OptionParser.mockable", "OptionParser.items",
            "OptionParser.as_dict", "OptionParser.groups", "OptionParser.group_dict",
        ),
        "errors": ("Error",),
    },
    "testing": {
        "AsyncTestCase": ("AsyncTestCase", "AsyncTestCase.get_new_ioloop", "AsyncTestCase.stop", "AsyncTestCase.wait"),
        "AsyncHTTPTestCase": (
            "AsyncHTTPTestCase", "AsyncHTTPTestCase.get_app", "AsyncHTTPTestCase.fetch",
            "AsyncHTTPTestCase.get_httpserver_options", "AsyncHTTPTestCase.get_http_port",
            "AsyncHTTPTestCase.get_protocol", "AsyncHTTPTestCase.get_url", "AsyncHTTPTestCase.get_http_client",
            "AsyncHTTPSTestCase", "AsyncHTTPSTestCase.get_ssl_options",
        ),
        "helpers": ("gen_test", "ExpectLog", "bind_unused_port", "get_async_test_timeout", "main"),
    },
    "util": {
        "public face": (
            "ObjectDict", "TimeoutError", "import_object", "Configurable", "Configurable.configure",
            "Configurable.configured_class", "Configurable.configurable_base", "Configurable.configurable_default",
            "Configurable.initialize",
        ),
        "internal helpers": (
            "GzipDecompressor", "errno_from_exception", "re_unescape", "timedelta_to_seconds", "ArgReplacer",
        ),
    },
}  # fmt: skip

PROVIDED, PARTIAL, MISSING = "provided", "partial", "missing"


def _resolves(module: object, dotted: str) -> bool:
    """``module.a.b...`` exists; a last part a class's ``__init__`` assigns (``self.b = ...``) counts too."""
    obj = module
    for part in dotted.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            return isinstance(obj, type) and _assigned_in_init(obj, part) and part == dotted.rsplit(".", 1)[-1]
    return True


def _assigned_in_init(cls: type, name: str) -> bool:
    """Tornado documents some attributes as properties that are plain instance attributes here."""
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        try:
            source = inspect.getsource(init)
        except (OSError, TypeError):
            continue
        if re.search(rf"\bself\.{re.escape(name)}\s*(:[^=]+)?=", source):
            return True
    return False


def survey(package: str = "framework") -> dict[str, dict[str, list[str]]]:
    """For each Tornado module, ``{group: [missing names]}``; a module that does not import maps to ``{}``."""
    root = os.path.dirname(importlib.import_module(package).__file__ or "")
    result: dict[str, dict[str, list[str]]] = {}
    for name, groups in TORNADO.items():
        try:
            module = importlib.import_module(f"{package}.{name}")
        except ImportError:
            result[name] = {}
            continue
        if not (module.__file__ or "").startswith(root + os.sep):
            raise RuntimeError(f"{module.__name__} came from {module.__file__}, outside {root}")
        result[name] = {group: [n for n in names if not _resolves(module, n)] for group, names in groups.items()}
    return result


def group_status(missing: list[str] | None, names: tuple[str, ...]) -> str:
    if missing is None or len(missing) == len(names):
        return MISSING
    return PARTIAL if missing else PROVIDED


def module_status(name: str, found: dict[str, list[str]]) -> str:
    if not found:
        return MISSING
    statuses = {group_status(found[g], names) for g, names in TORNADO[name].items()}
    return PROVIDED if statuses == {PROVIDED} else PARTIAL


def counts(found: dict[str, dict[str, list[str]]]) -> tuple[dict[str, int], dict[str, int]]:
    """(modules by status, groups by status)."""
    modules = {PROVIDED: 0, PARTIAL: 0, MISSING: 0}
    groups = {PROVIDED: 0, PARTIAL: 0, MISSING: 0}
    for name, group_names in TORNADO.items():
        modules[module_status(name, found[name])] += 1
        for group, names in group_names.items():
            groups[group_status(found[name].get(group), names)] += 1
    return modules, groups


def survey_commit(rev: str) -> dict[str, dict[str, list[str]]]:
    """``survey()`` of ``framework/`` as it was at ``rev``, in a fresh interpreter.

    Raises:
        RuntimeError: the interpreter imported another ``framework`` than ``rev``'s.
    """
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "-C", str(REPO), "archive", rev, "framework"], check=True, capture_output=True)
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(tmp, filter="data")
        code = (
            # The venv's editable install of this checkout would answer for modules
            # the old tree lacks: drop its finder so that only the old tree is seen.
            f"import sys, runpy; sys.path.insert(0, {tmp!r}); sys.argv = ['survey', '--json']; "
            "sys.meta_path[:] = [f for f in sys.meta_path if 'Editable' not in type(f).__name__ + repr(f)]; "
            f"runpy.run_path({__file__!r}, run_name='__main__')"
        )
        out = subprocess.run([sys.executable, "-I", "-c", code], check=True, capture_output=True, text=True, cwd=tmp)
    answer = json.loads(out.stdout)
    if not answer["package"].startswith(tmp):
        raise RuntimeError(f"surveyed {answer['package']}, not {rev}'s framework/")
    return answer["survey"]  # type: ignore[no-any-return]


def _cell(status: str, missing: list[str] | None = None) -> str:
    mark = {PROVIDED: "yes", PARTIAL: "part", MISSING: "no"}[status]
    return mark if not missing or status == MISSING else f"{mark} (missing {', '.join(missing)})"


def table(now: dict[str, dict[str, list[str]]], before: dict[str, dict[str, list[str]]] | None) -> str:
    """The Markdown table: one row per module, with its groups' state and what is still missing."""
    head = "| Tornado module | " + ("before | " if before else "") + "now | groups now | missing now |"
    lines = [head, "|---|" + ("---|" if before else "") + "---|---|---|"]
    for name, groups in TORNADO.items():
        found = now[name]
        statuses = [group_status(found.get(g), n) for g, n in groups.items()]
        provided = statuses.count(PROVIDED)
        missing = [f"{n}" for g in groups for n in found.get(g, [])] if found else ["(module)"]
        row = f"| `tornado.{name}` | "
        if before is not None:
            row += _cell(module_status(name, before[name])) + " | "
        row += f"{_cell(module_status(name, found))} | {provided}/{len(groups)} | {', '.join(f'`{m}`' for m in missing) or '-'} |"
        lines.append(row)
    return "\n".join(lines)


def summary(found: dict[str, dict[str, list[str]]]) -> str:
    modules, groups = counts(found)
    return (
        f"modules: {modules[PROVIDED]} provided, {modules[PARTIAL]} partial, {modules[MISSING]} missing "
        f"(of {len(TORNADO)}); groups of names: {groups[PROVIDED]} provided, {groups[PARTIAL]} partial, "
        f"{groups[MISSING]} missing (of {sum(groups.values())})"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--json", action="store_true", help="print the raw survey as JSON")
    parser.add_argument("--before", metavar="REV", help="also survey framework/ at this git revision")
    args = parser.parse_args(argv)
    now = survey()
    if args.json:
        import framework

        print(json.dumps({"package": framework.__file__, "survey": now}))
        return
    before = survey_commit(args.before) if args.before else None
    if before is not None:
        print(f"before ({args.before}): {summary(before)}")
    print(f"now: {summary(now)}\n")
    print(table(now, before))


# -- tests -------------------------------------------------------------------

# What is missing now (python tests/test_tornado_api.py); anything else must resolve.
KNOWN_MISSING: dict[str, set[str]] = {
    "http1connection": {
        "HTTP1ConnectionParameters", "HTTP1ServerConnection", "HTTP1Connection.read_response",
        "HTTP1ServerConnection.close", "HTTP1ServerConnection.start_serving",
    },
    "platform.caresresolver": {"(module)"},
    "platform.twisted": {"(module)"},
}  # fmt: skip


def test_the_list_covers_tornados_thirty_public_modules() -> None:
    assert len(TORNADO) == 30
    assert sum(len(groups) for groups in TORNADO.values()) == 100


def test_nothing_provided_goes_missing() -> None:
    for module, groups in survey().items():
        missing = {n for names in groups.values() for n in names} if groups else {"(module)"}
        unexpected = missing - KNOWN_MISSING.get(module, set())
        assert not unexpected, f"tornado.{module}: {sorted(unexpected)} no longer resolve"


if __name__ == "__main__":
    # Run as a script, Python puts tests/ first on the path, where tests/framework/
    # (no __init__.py) would pass for the package: survey the real one.
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
    main()
