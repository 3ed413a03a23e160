"""The web layer's public face (Tornado's ``tornado.web``): this module only re-exports.

Modules behind it: ``application`` (the routing table and the server's
delegate), ``settings`` (settings resolved into a typed object), ``handler``
(``RequestHandler``: the response), ``lifecycle`` (the order of its steps),
``contracts`` (what a handler needs of its application), ``arguments``,
``cookies`` (cookies, signed cookies, XSRF), ``rendering`` (templates and what
UI modules put into a page), ``uimodules``, ``compression`` (output
transforms), ``locale``, ``errors``, ``redirect``, ``static``, ``security``
(signed values in Tornado's formats).
"""

from framework.routing import URLSpec as URLSpec
from framework.routing import url as url
from framework.web.application import Application as Application
from framework.web.compression import GZipContentEncoding as GZipContentEncoding
from framework.web.compression import OutputTransform as OutputTransform
from framework.web.cookies import authenticated as authenticated
from framework.web.decorators import addslash as addslash
from framework.web.decorators import asynchronous as asynchronous
from framework.web.decorators import removeslash as removeslash
from framework.web.decorators import stream_request_body as stream_request_body
from framework.web.errors import Finish as Finish
from framework.web.errors import HTTPError as HTTPError
from framework.web.errors import MissingArgumentError as MissingArgumentError
from framework.web.handler import RequestHandler as RequestHandler
from framework.web.locale import Locale as Locale
from framework.web.redirect import ErrorHandler as ErrorHandler
from framework.web.redirect import FallbackHandler as FallbackHandler
from framework.web.redirect import RedirectHandler as RedirectHandler
from framework.web.security import create_signed_value as create_signed_value
from framework.web.security import decode_signed_value as decode_signed_value
from framework.web.security import get_signature_key_version as get_signature_key_version
from framework.web.static import StaticFileHandler as StaticFileHandler
from framework.web.uimodules import TemplateModule as TemplateModule
from framework.web.uimodules import UIModule as UIModule

__all__ = [
    "Application",
    "ErrorHandler",
    "FallbackHandler",
    "Finish",
    "GZipContentEncoding",
    "HTTPError",
    "Locale",
    "MissingArgumentError",
    "OutputTransform",
    "RedirectHandler",
    "RequestHandler",
    "StaticFileHandler",
    "TemplateModule",
    "UIModule",
    "URLSpec",
    "addslash",
    "asynchronous",
    "authenticated",
    "create_signed_value",
    "decode_signed_value",
    "get_signature_key_version",
    "removeslash",
    "stream_request_body",
    "url",
]
