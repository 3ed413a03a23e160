"""``python -m framework.httpclient URL...``: fetch URLs and print what came back (Tornado's ``httpclient.main``).

For a quick look at a server from the shell, with the blocking client.
Options, as Tornado names them: ``--print_headers`` (off), ``--print_body``
(on), ``--follow_redirects`` (on), ``--validate_cert`` (on).
``--proxy_host``/``--proxy_port`` are refused with a clear message: this
client has no proxy support. An error status still prints its answer; a
connection that fails ends the program with its error.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from framework.httpclient.client import HTTPClient
from framework.httpclient.messages import HTTPClientError, HTTPResponse

if TYPE_CHECKING:
    from framework.options import OptionParser

__all__ = ["main"]


def _parser() -> OptionParser:
    # Imported here: `import framework.httpclient` should not load the options machinery.
    from framework.options import OptionParser

    parser = OptionParser()
    parser.define("print_headers", type=bool, default=False, help="print the response's headers")
    parser.define("print_body", type=bool, default=True, help="print the response's body")
    parser.define("follow_redirects", type=bool, default=True, help="follow redirects")
    parser.define("validate_cert", type=bool, default=True, help="check the server's TLS certificate")
    parser.define("proxy_host", type=str, default=None, help="not supported: refused")
    parser.define("proxy_port", type=int, default=None, help="not supported: refused")
    return parser


def main(args: list[str] | None = None) -> None:
    """Fetch each URL of the command line and print its headers and body (Tornado's ``main``).

    Raises:
        SystemExit: no URL, or a proxy was asked for.
    """
    parser = _parser()
    urls = parser.parse_command_line(sys.argv if args is None else ["httpclient", *args], final=True)
    if parser.proxy_host or parser.proxy_port:
        sys.exit("framework.httpclient: proxies are not supported (--proxy_host, --proxy_port)")
    if not urls:
        sys.exit("usage: python -m framework.httpclient [--print_headers] [--print_body=false] URL...")
    client = HTTPClient()
    try:
        for url in urls:
            _show(client, url, parser)
    finally:
        client.close()


def _show(client: HTTPClient, url: str, parser: OptionParser) -> None:
    try:
        response: HTTPResponse = client.fetch(url, follow_redirects=parser.follow_redirects, validate_cert=parser.validate_cert)
    except HTTPClientError as exc:
        if exc.response is None:
            raise
        response = exc.response
    if parser.print_headers:
        print(f"HTTP/1.1 {response.code} {response.reason}")
        for name, value in response.headers.get_all():
            print(f"{name}: {value}")
        print()
    if parser.print_body:
        print(response.body.decode("utf-8", "replace"))
