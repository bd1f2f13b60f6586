"""The paced scenario's bar (``governor.demo.pace``), read from a pretend fleet's events. Pure:
no server, no sleeping."""

from __future__ import annotations

from typing import Any

from governor.demo.pace import PaceStart, pace_event
from governor.demo.tally import Tally
from governor.demo.worker import Sent

SCALE = 6.0  # a provider minute of 6 s; 120/minute is an interval of 50 ms
START = 1_800_000_000.0
DAY_END = START + 600 * SCALE  # ten provider hours left of the day
LINE = PaceStart(START, DAY_END, 36_000, 60.0, 64_000)  # 60 a provider minute


def tally(low_every_s: float, low: int, high_waits: list[float]) -> Tally:
    t = Tally(8, None, START, SCALE, 120)
    for i in range(low):
        t.add(Sent(1 + i % 7, (i,), 202, "ok", None, 0.0, START + i * low_every_s, None, None,
                   None, False))
    for j, wait in enumerate(high_waits):
        t.add(Sent(0, (10_000 + j,), 202, "ok", None, wait, START + 1 + j, None, None, None,
                   False))
    return t


def event(t: Tally) -> dict[str, Any]:
    return pace_event(LINE, t, 0, 5, SCALE, SCALE / 120)


def test_a_backlog_on_the_line_with_quick_resets_meets_the_bar() -> None:
    e = event(tally(0.1, 300, [0.01, 0.05, 0.02]))  # one a provider second: the line
    assert e["met"]
    assert e["minutes"][:2] == [(1.0, 61, 60.0), (2.0, 121, 120.0)]
    assert (e["high_sends"], e["high_wait_p99_s"]) == (3, 0.05)


def test_a_backlog_ahead_of_the_line_or_behind_it_misses() -> None:
    assert not event(tally(0.09, 300, [0.01]))["met"]  # 10% fast: 6 ahead a minute
    assert not event(tally(0.11, 300, [0.01]))["met"]  # 10% slow
    assert event(tally(0.1005, 300, [0.01]))["met"]  # 0.5% slow: within 2%


def test_high_sends_that_queue_behind_the_backlog_miss() -> None:
    assert not event(tally(0.1, 300, [0.01, 0.2]))["met"]  # 4 intervals
    assert not event(tally(0.1, 300, []))["met"]  # no high send measured at all
