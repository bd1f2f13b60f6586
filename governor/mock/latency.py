"""The mock's reply latency: how long it works on a provider request before it answers.

A real provider takes time to answer, and with few workers that time, not the rate limit,
bounds a fleet (``workers / latency``, Little's law). The mock decides and logs a request the
moment it arrives (its windows and report see arrival times), then sleeps for one draw with
``await asyncio.sleep`` (other requests are served meanwhile), then answers. Every provider
reply waits, refusals included; ``/_admin`` never does.

The delay is in **real** seconds, not virtual ones: the time scale speeds up the provider's
windows and quota days, not its network, so a worker sees a 300 ms call take 300 ms at any
scale, which is how :mod:`governor.capacity` counts latency too.

Draws come from :meth:`governor.capacity.Latency.sampler` on ``random.Random(seed)``, one per
request in arrival order, so a seed fixes the sequence; :func:`governor.simulation.simulate`
with the same latency and seed draws the same sequence, one per call in grant order.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from governor.capacity import Latency

__all__ = ["ReplyDelay", "reply_latency"]


def reply_latency(median_ms: float = 0.0, p99_ms: float | None = None) -> Latency | None:
    """The latency of ``median_ms`` (fixed) or log-normal through it and ``p99_ms``; None for
    0 ms (answer at once). Raises ValueError for a negative median, a p99 without a median, or
    a p99 below the median."""
    if median_ms < 0:
        raise ValueError(f"the latency is a number of milliseconds >= 0, not {median_ms:g}")
    if median_ms == 0:
        if p99_ms is not None:
            raise ValueError("a p99 latency needs a median latency (--latency-ms) too")
        return None
    return Latency(median_ms / 1000, None if p99_ms is None else p99_ms / 1000)


class ReplyDelay:
    """Draws, from a seeded RNG, the real seconds the mock waits before each provider reply.

    ``latency`` None means no wait at all (the default: the mock answers as fast as it can).
    """

    def __init__(self, latency: Latency | None = None, seed: int = 0) -> None:
        self.latency, self.seed = latency, seed
        self._draw = None if latency is None else latency.sampler(random.Random(seed))

    async def wait(self) -> None:
        """Sleep for the next draw (no sleep, not even a yield, without a latency)."""
        if self._draw is not None:
            await asyncio.sleep(self._draw())

    def args(self) -> list[str]:
        """The same delay as options of ``python -m governor.mock`` (for a child process).
        Raises ValueError for a latency of measured samples, which has no such options."""
        latency = self.latency
        if latency is None:
            return []
        if latency.samples:
            raise ValueError("a latency drawn from samples cannot be given to a process-mode "
                             "mock; give a median (and a p99)")
        out = ["--latency-ms", repr(latency.median_s * 1000), "--latency-seed", str(self.seed)]
        if latency.p99_s is not None:
            out += ["--latency-p99-ms", repr(latency.p99_s * 1000)]
        return out

    def describe(self) -> dict[str, Any] | None:
        """The delay as JSON (seconds), None without a latency."""
        latency = self.latency
        if latency is None:
            return None
        return {"median_s": latency.median_s, "p99_s": latency.p99_s,
                "mean_s": latency.mean_s, "samples": len(latency.samples), "seed": self.seed}

    def __repr__(self) -> str:
        return f"ReplyDelay({self.latency or 'none'}, seed={self.seed})"
