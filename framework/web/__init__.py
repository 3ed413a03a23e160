"""The web layer's public face (Tornado's ``tornado.web``): this module only re-exports.

Modules behind it: ``application`` (routing table, settings), ``handler``
(``RequestHandler``), ``errors``, ``redirect``, ``static``, ``security``.
"""

from framework.routing import URLSpec as URLSpec
from framework.routing import url as url
from framework.web.application import Application as Application
from framework.web.cookies import authenticated as authenticated
from framework.web.errors import Finish as Finish
from framework.web.errors import HTTPError as HTTPError
from framework.web.errors import MissingArgumentError as MissingArgumentError
from framework.web.handler import RequestHandler as RequestHandler
from framework.web.handler import addslash as addslash
from framework.web.handler import asynchronous as asynchronous
from framework.web.handler import removeslash as removeslash
from framework.web.handler import stream_request_body as stream_request_body
from framework.web.locale import Locale as Locale
from framework.web.redirect import ErrorHandler as ErrorHandler
from framework.web.redirect import FallbackHandler as FallbackHandler
from framework.web.redirect import RedirectHandler as RedirectHandler
from framework.web.static import StaticFileHandler as StaticFileHandler

__all__ = [
    "Application",
    "ErrorHandler",
    "FallbackHandler",
    "Finish",
    "HTTPError",
    "Locale",
    "MissingArgumentError",
    "RedirectHandler",
    "RequestHandler",
    "StaticFileHandler",
    "URLSpec",
    "addslash",
    "authenticated",
    "asynchronous",
    "removeslash",
    "stream_request_body",
    "url",
]
