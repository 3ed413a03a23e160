"""Redirects: each kind of redirect followed hop by hop, chains to the end, and the guard.

Redirects are followed by hand (``allow_redirects=False``), so every hop is
checked: its status, and where its ``Location`` points (path and query, the
order of query parameters aside). A chain ends on the landing page, whose
address and content are checked too. The open-redirect guard must answer a
``next`` pointing off the site with ``400`` and its refusal page.
"""

from __future__ import annotations

import random
import urllib.parse

from locust import tag, task

from .visitor import Visitor, expect, redirect_target

__all__ = ["RedirectsUser"]

KINDS = {"temporary": 302, "permanent": 301, "see-other": 303}
HOSTILE_NEXT = ("https://evil.example/", "//evil.example/", "/\\evil.example/")
MAX_CHAIN = 6


def same_target(location: str | None, expected: str) -> bool:
    """True when ``location`` has ``expected``'s path and query parameters."""
    if location is None:
        return False
    got, want = urllib.parse.urlsplit(location), urllib.parse.urlsplit(expected)
    return got.path == want.path and urllib.parse.parse_qs(got.query) == urllib.parse.parse_qs(want.query)


class RedirectsUser(Visitor):
    """Follows the demo's redirects and chains, and tries the guard with hostile targets."""

    weight = 10

    def hop(self, path: str, status: int, expected: str, *, name: str) -> bool:
        """GET ``path``; True when it redirects with ``status`` to ``expected`` (else a failure)."""
        with self.client.get(path, name=name, allow_redirects=False, catch_response=True) as response:
            if not expect(response, status):
                return False
            if not same_target(redirect_target(response), expected):
                response.failure(f"Location {response.headers.get('Location')!r}, expected {expected!r}")
                return False
            return True

    @tag("redirects", "chain")
    @task(4)
    def chain(self) -> None:
        """``chain/n`` -> ``chain/n-1`` -> ... -> ``landed?via=chain&hops=n``, every hop checked."""
        total = random.randint(1, MAX_CHAIN)
        path = f"/redirects/chain/{total}"
        for remaining in range(total, 0, -1):
            target = f"/redirects/chain/{remaining - 1}?total={total}"
            if not self.hop(path, 302, target, name="/redirects/chain/[n]"):
                return
            path = target
        landed = f"/redirects/landed?via=chain&hops={total}"
        if not self.hop(path, 302, landed, name="/redirects/chain/[n]"):
            return
        with self.client.get(landed, name="/redirects/landed", catch_response=True) as response:
            expect(response, 200, contains=("<h1>You landed</h1>", f"<span>Hops</span><span>{total}</span>"))

    @tag("redirects")
    @task(3)
    def redirect_kind(self) -> None:
        kind, status = random.choice(list(KINDS.items()))
        landed = f"/redirects/landed?via={kind}&status={status}"
        if self.hop(f"/redirects/to/{kind}", status, landed, name="/redirects/to/[kind]"):
            with self.client.get(landed, name="/redirects/landed", catch_response=True) as response:
                expect(response, 200, contains=(f"<code>{status}</code> ({kind})",))

    @tag("redirects")
    @task(2)
    def redirect_handler(self) -> None:
        """``RedirectHandler`` rules in the routing table: ``old/...`` (301) and ``moved/...`` (302)."""
        path, status, target = random.choice(
            (
                ("/redirects/old/articles/42", 301, "/redirects/new/articles/42"),
                ("/redirects/moved/summer-sale", 302, "/redirects/new/moved-summer-sale"),
            )
        )
        if self.hop(path, status, target, name=path):
            with self.client.get(target, name="/redirects/new/[path]", catch_response=True) as response:
                expect(response, 200, contains=(f"new/{target.rsplit('/new/', 1)[1]}",))

    @tag("redirects")
    @task(1)
    def post_307(self) -> None:
        """A 307 repeats the POST with its body: the landing page shows the form field."""
        fields = {"_xsrf": self.xsrf_token("/redirects/"), "message": "sent with POST"}
        landed = "/redirects/landed?via=temporary-307&status=307"
        with self.client.post(
            "/redirects/to/temporary-307",
            data=fields,
            name="/redirects/to/temporary-307 POST",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if not expect(response, 307):
                return
            if not same_target(redirect_target(response), landed):
                response.failure(f"Location {response.headers.get('Location')!r}, expected {landed!r}")
                return
        with self.client.post(landed, data=fields, name="/redirects/landed POST", catch_response=True) as response:
            expect(response, 200, contains=("<code>POST</code>", "sent with POST"))

    @tag("redirects", "guard")
    @task(2)
    def guard(self) -> None:
        """``go?next=``: a path on the site is followed, anything else refused with 400."""
        if random.random() < 0.5:
            local = "/redirects/landed?via=guard"
            self.hop(f"/redirects/go?next={urllib.parse.quote(local, safe='')}", 302, local, name="/redirects/go?next=[local]")
            return
        target = random.choice(HOSTILE_NEXT)
        with self.client.get(
            f"/redirects/go?next={urllib.parse.quote(target, safe='')}",
            name="/redirects/go?next=[hostile]",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            expect(response, 400, contains=("<h1>Not following that</h1>",))
