"""The bench's non-trivial workloads, shared by every contender: one template page and one form POST.

Strategy: every server renders the same Jinja2 file (``templates/page.html``)
with the same context, so the template page differs only in how each
framework finds, renders and writes it; and every server parses the same
urlencoded body (``loadtest/form_post.lua`` sends it) into the same few
fields and answers with ``form_reply``. Every Jinja2 environment here has
autoescape on and ``auto_reload`` off (templates compile once, no ``stat`` per
render), the setting the framework itself defaults to.

Paths: ``GET /`` hello world, ``GET /page`` the template page, ``POST /form``
the form. Imported by the scripts in ``servers/`` (their directory is first on
``sys.path``); imports nothing outside the standard library at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

TEMPLATES = str(Path(__file__).resolve().parent / "templates")
TEMPLATE_NAME = "page.html"
FORM_FIELDS = ("name", "email", "age", "topic", "message")


def _items(count: int) -> list[dict[str, Any]]:
    # Names and notes carry <, >, & and quotes, so every row goes through escaping.
    return [
        {
            "name": f'Item <{n}> & "friends"',
            "note": f"O'Brien's pick #{n}: <b>not bold</b> & not a tag",
            "price": n * 1.25,
            "tags": ["new", "a&b", "<x>"][: 1 + n % 3],
        }
        for n in range(1, count + 1)
    ]


#: The template's context: a title, an intro and 30 rows (about 7 KB of HTML).
CONTEXT: dict[str, Any] = {
    "title": "Catalogue <page 1> & more",
    "intro": "Thirty rows, each escaped: <script>alert('x')</script> is text here.",
    "items": _items(30),
}


def form_reply(fields: dict[str, str]) -> str:
    """The form's answer: the fields read back in a short line of text."""
    return "Thanks, {name} <{email}>, age {age}, about {topic}: {length} characters\n".format(
        length=len(fields["message"]), **fields
    )
