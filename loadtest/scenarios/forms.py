"""Forms: the sign-up form filled in right and wrong, its result page, and the search.

A valid sign-up is the whole post/redirect/get round: GET the form (which
sets the ``_xsrf`` cookie and hides the same token in the form), POST it back
with the token, expect ``303 See Other`` to ``done/<id>``, then GET that page.
An invalid one must come back as ``400`` with the message next to each wrong
field and what was typed kept in place.
"""

from __future__ import annotations

import html
import re
import secrets

from locust import tag, task

from .visitor import Visitor, expect, redirect_target

__all__ = ["FormsUser"]

XSRF_FIELD = re.compile(r'name="_xsrf" value="([^"]+)"')
DONE = re.compile(r"/forms/done/[A-Za-z0-9_-]{12}")


class FormsUser(Visitor):
    """Signs up (valid and invalid), reads the result, searches the sign-ups."""

    weight = 10

    def on_start(self) -> None:
        self.name = f"Locust {secrets.token_hex(4)}"

    def form_token(self) -> str | None:
        """GET the form; the ``_xsrf`` token hidden in it (None, marked a failure, if absent)."""
        with self.client.get("/forms/", name="/forms/", catch_response=True) as response:
            if not expect(response, 200, contains=("<h1>Forms</h1>",)):
                return None
            found = XSRF_FIELD.search(response.text or "")
            if found is None:
                response.failure("no _xsrf field in the form")
                return None
            return html.unescape(found.group(1))

    @tag("forms")
    @task(4)
    def sign_up(self) -> None:
        token = self.form_token()
        if token is None:
            return
        fields = {
            "_xsrf": token,
            "name": self.name,
            "email": "locust@example.org",
            "age": "33",
            "topic": "performance",
            "message": "load test",
            "agree": "yes",
        }
        with self.client.post(
            "/forms/", data=fields, name="/forms/ POST valid", allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code == 303 and not DONE.fullmatch(redirect_target(response) or ""):
                response.failure(f"303 to {response.headers.get('Location')!r}, expected /forms/done/<id>")
                return
            if not expect(response, 303):
                return
            done = redirect_target(response) or ""
        with self.client.get(done, name="/forms/done/[id]", catch_response=True) as response:
            expect(response, 200, contains=(f"Thank you, {self.name}",))

    @tag("forms", "invalid")
    @task(3)
    def sign_up_invalid(self) -> None:
        token = self.form_token()
        if token is None:
            return
        fields = {"_xsrf": token, "name": self.name, "email": "not-an-address", "age": "7", "topic": "performance", "message": ""}
        with self.client.post("/forms/", data=fields, name="/forms/ POST invalid", catch_response=True) as response:
            expect(
                response,
                400,
                contains=(
                    'id="email-error"',
                    'id="age-error"',
                    "Please confirm that this is a demo",
                    'value="not-an-address"',  # what was typed stays in place
                ),
            )

    @tag("forms", "search")
    @task(2)
    def search(self) -> None:
        query = self.name.split()[-1]
        with self.client.get(f"/forms/search?q={query}", name="/forms/search?q=[name]", catch_response=True) as response:
            expect(response, 200, contains=(f"for “{query}”",))

    @tag("forms")
    @task(1)
    def recent(self) -> None:
        with self.client.get("/forms/recent", catch_response=True) as response:
            expect(response, 200, contains=("<h1>Recent sign-ups</h1>",))
