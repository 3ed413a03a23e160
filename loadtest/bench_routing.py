"""Benchmark: RuleRouter.find_handler with the literal-path dict versus a plain regex scan.

Justifies the dict lookup in ``framework.routing.RuleRouter.find_handler``
(STYLE.md rule 15). Builds a 50-route table (25 literal paths, 25 regex
patterns, interleaved as a real application would have them) twice: once as
is, and once with every matcher a ``PathMatches`` subclass, which the router
treats as opaque and therefore scans in order. Prints microseconds per lookup
for a few paths. Not a test: run ``python loadtest/bench_routing.py``.
"""

from __future__ import annotations

import timeit

from framework.httputil import HTTPServerRequest
from framework.routing import PathMatches, Rule, RuleRouter

ROUTES = 50


class ScannedPathMatches(PathMatches):
    """Same matching; being a subclass keeps it out of the literal index."""


def handler(request: HTTPServerRequest) -> None:
    """A callable target: find_handler wraps it in a cheap adapter."""


def patterns() -> list[str]:
    table: list[str] = []
    for i in range(ROUTES // 2):
        table.append(f"/section{i}/page")
        table.append(rf"/section{i}/items/([0-9]+)")
    return table


def build(matcher: type[PathMatches]) -> RuleRouter:
    return RuleRouter([Rule(matcher(pattern), handler) for pattern in patterns()])


def per_call_us(router: RuleRouter, path: str, number: int) -> float:
    request = HTTPServerRequest(method="GET", uri=path)
    seconds = timeit.timeit(lambda: router.find_handler(request), number=number)
    return seconds / number * 1e6


def main(number: int = 20_000) -> None:
    indexed, scanned = build(PathMatches), build(ScannedPathMatches)
    cases = {
        "first literal": "/section0/page",
        "last literal": f"/section{ROUTES // 2 - 1}/page",
        "last regex": f"/section{ROUTES // 2 - 1}/items/7",
        "no match (404)": "/nowhere",
    }
    print(f"find_handler over {ROUTES} routes, {number} calls each (microseconds per call)")
    print(f"{'path':<16} {'dict+scan':>10} {'scan only':>10} {'speed-up':>9}")
    for label, path in cases.items():
        fast, slow = per_call_us(indexed, path, number), per_call_us(scanned, path, number)
        print(f"{label:<16} {fast:>10.2f} {slow:>10.2f} {slow / fast:>8.1f}x")


if __name__ == "__main__":
    main()
