"""Tests for framework/serverstate.py: the deadline wheel and the parser pool (the trust rules are tested with xheaders).

The wheel is driven by a real event loop: a connection armed for a deadline
is told once its second has passed, members of one second share one timer,
and a connection taken out is never told. Waits are bounded (a slot is at
most a second away); nothing is timed.
"""

from __future__ import annotations

import asyncio

from framework import http1
from framework.serverstate import DeadlineWheel, ParserPool, body_deadline
from tests.framework.harness import async_test, eventually


class Member:
    """A connection as the wheel sees it: it records each call."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.told: list[float] = []

    def on_deadline_slot(self) -> None:
        self.told.append(self.loop.time())


@async_test
async def test_a_member_is_told_once_its_second_has_passed() -> None:
    loop = asyncio.get_running_loop()
    wheel = DeadlineWheel()
    member = Member(loop)
    deadline = loop.time() + 0.05
    slot = wheel.arm(member, deadline)
    assert slot >= deadline and slot - deadline < 1
    assert len(wheel) == 1
    await eventually(lambda: member.told != [])
    assert len(member.told) == 1 and member.told[0] >= deadline
    assert len(wheel) == 0


@async_test
async def test_members_of_one_second_share_it_and_one_taken_out_is_not_told() -> None:
    loop = asyncio.get_running_loop()
    wheel = DeadlineWheel()
    start = loop.time()
    first, second, gone = (Member(loop) for _ in range(3))
    slots = {wheel.arm(m, start + 0.01) for m in (first, second, gone)}
    assert len(slots) == 1 and len(wheel) == 3
    wheel.disarm(gone, slots.pop())
    await eventually(lambda: first.told != [] and second.told != [])
    assert gone.told == []
    assert len(wheel) == 0


@async_test
async def test_the_last_member_out_cancels_its_second() -> None:
    loop = asyncio.get_running_loop()
    wheel = DeadlineWheel()
    member = Member(loop)
    slot = wheel.arm(member, loop.time() + 0.01)
    wheel.disarm(member, slot)
    wheel.disarm(member, slot)  # twice, or for a slot already gone: nothing happens
    assert len(wheel) == 0
    later = Member(loop)
    wheel.arm(later, loop.time() + 0.02)
    await eventually(lambda: later.told != [])
    assert member.told == []


def test_the_pool_lends_a_spare_parser_before_making_one_and_keeps_a_bounded_number() -> None:
    pool = ParserPool(http1.Limits(max_header_bytes=4096))
    first = pool.take()
    assert first is not pool.idle and first.limits.max_header_bytes == 4096
    pool.give_back(first)
    assert pool.take() is first  # a spare is reused
    assert pool.take() is not first  # none spare: a new one
    lent = [pool.take() for _ in range(ParserPool.SPARE_MAX + 10)]
    for parser in lent:
        pool.give_back(parser)
    kept = {id(pool.take()) for _ in range(ParserPool.SPARE_MAX)}
    assert kept <= {id(p) for p in lent}
    assert not ({id(pool.take())} & {id(p) for p in lent})  # the ones beyond the bound were let go


def test_the_pool_takes_back_only_a_parser_as_good_as_new() -> None:
    pool = ParserPool(http1.Limits())
    ended = pool.take()
    ended.feed_eof()
    assert pool.give_back(ended) is False  # it would refuse the next connection's bytes
    pipelined = pool.take()
    pipelined.feed(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /next")
    pipelined.next_event()
    assert pool.give_back(pipelined) is False  # mid-message, bytes buffered
    assert pool.take() is not ended and pool.take() is not pipelined
    fresh = pool.take()
    assert pool.give_back(fresh) is True and pool.take() is fresh


def test_a_body_times_out_after_its_silence_or_when_it_falls_below_the_minimum_rate() -> None:
    # 10 s of silence allowed; at least 1,000 bytes a second on average after the 10 s of grace.
    assert body_deadline(100.0, 10.0, 100.0, 0, None) == 110.0  # no rate: silence only
    assert body_deadline(100.0, 10.0, 100.0, 0, 1000.0) == 110.0  # nothing received yet: the grace
    assert body_deadline(105.0, 10.0, 100.0, 2000, 1000.0) == 112.0  # 2,000 bytes earned 2 s, before the silence's 115
    assert body_deadline(105.0, 10.0, 100.0, 50_000, 1000.0) == 115.0  # fast enough: the silence decides
