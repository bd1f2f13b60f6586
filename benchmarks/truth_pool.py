"""The truth scenarios' plumbing: worker processes that take orders, and the moves on the mock.

:class:`Pool` spawns its workers once (``spawn``: fresh interpreters, as a real fleet has) and
each serves orders over its own pipe: an order is a top-level function and its keyword
arguments, run in the worker with a :class:`Link` back to the parent (for "ready", "go" and
other signals in the middle of an order); its return value comes back, or its traceback,
raised in the parent as :class:`~benchmarks.harness.BenchmarkError`. A worker never waits for
the parent without a timeout, and the parent never waits for a worker without one.

Clocks: every process on one host reads the same ``CLOCK_MONOTONIC``, so instants that cross
processes are ``time.monotonic()`` readings, also in a process whose wall clock is skewed on
purpose (``time_machine`` moves ``time.time`` and ``time.time_ns``, not ``time.monotonic``).
Redis ``TIME`` (the instants of a decision) and the mock's real clock are wall time, read back
with the wall-minus-monotonic of an unskewed process.

The mock moves (any process may make them, with its own HTTP clients): :func:`fill_window`
spends the account's fixed provider window with a token the governor does not know of, and
:func:`provoke` fills it, moves the mock's clock to just before the window ends and sends one
request, so the provider itself answers ``429`` with the ``Retry-After`` wanted.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import time
import traceback
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from benchmarks.harness import BenchmarkError
from governor.limits import DAY_S
from governor.mock.admin import AdminError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

    import httpx

    from governor.mock.admin import MockAdmin

__all__ = [
    "EMAIL",
    "WAIT_S",
    "Link",
    "Pool",
    "Provoked",
    "clear_of_midnight",
    "date_s",
    "email",
    "fill_window",
    "http_date",
    "mock_now",
    "provoke",
    "sleep_until",
    "wall_minus_mono",
]

EMAIL = "POST /v1/email"
MINUTE_S = 60.0  # the fixed window of a "N/minute" bucket, in provider seconds
START_TIMEOUT_S = 180.0  # a busy 2-core machine spawning a fleet must not fail a start-up race
WAIT_S = 120.0  # the longest a scenario waits for a worker beyond its planned end
_JUMP_MARGIN_S = 0.001  # land this far (provider seconds) inside the Retry-After wanted


def wall_minus_mono() -> float:
    """This process's wall clock minus the monotonic clock (seconds); only meaningful in a
    process whose wall clock is not skewed."""
    return time.time() - time.monotonic()


def clear_of_midnight(scale: float, run_s: float) -> None:
    """Wait past the next quota-day boundary (of a day of ``DAY_S * scale / 60`` real seconds,
    which an aligned mock and the governor share) if it falls within ``run_s``."""
    day_s = DAY_S * scale / MINUTE_S
    left = day_s - time.time() % day_s
    if left < run_s:
        time.sleep(left + 0.5)


def sleep_until(mono_s: float) -> None:
    """Sleep until the monotonic clock reads ``mono_s`` (at once if it is past)."""
    time.sleep(max(0.0, mono_s - time.monotonic()))


def email(i: int) -> dict[str, Any]:
    """A MailerSend ``POST /v1/email`` body."""
    return {"from": {"email": "truth@example.com"}, "to": [{"email": f"user{i}@example.com"}],
            "subject": f"Truth #{i}", "text": "Sent by the truth benchmark."}


def http_date(epoch_s: float) -> str:
    """An IMF-fixdate (``Date``, ``Retry-After``) of whole seconds."""
    return formatdate(math.floor(epoch_s), usegmt=True)


def date_s(response: httpx.Response) -> float:
    """The response's ``Date`` (the provider's now), epoch seconds."""
    return parsedate_to_datetime(response.headers["date"]).timestamp()


class Link:
    """A worker's end of its pipe, for the order it runs."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def signal(self, payload: object) -> None:
        """Tell the parent something mid-order (``"ready"``, a probe's result)."""
        self._conn.send(("signal", payload))

    def wait(self, timeout_s: float = START_TIMEOUT_S) -> Any:
        """The parent's next message; raises TimeoutError when none comes."""
        if not self._conn.poll(timeout_s):
            raise TimeoutError(f"the parent sent nothing within {timeout_s:g} s")
        return self._conn.recv()

    def pending(self) -> bool:
        """Whether the parent has sent something not read yet."""
        return self._conn.poll()


def _serve(conn: Connection) -> None:
    """A worker's main: serve orders until ``None``."""
    conn.send(("ready", None))
    link = Link(conn)
    while (order := conn.recv()) is not None:
        if not (isinstance(order, tuple) and len(order) == 2 and callable(order[0])):
            continue  # a message meant for an order that has ended (it failed early)
        function, kwargs = order
        try:
            result = function(link, **kwargs)
        except BaseException:  # reported to the parent, which raises it there
            conn.send(("error", traceback.format_exc()))
        else:
            conn.send(("done", result))
    conn.close()


class Pool:
    """``size`` worker processes, started once; use as a context manager.

    A worker whose order has not handed back its result (a scenario that failed half-way) is
    busy; :meth:`heal` replaces the busy ones with fresh processes.
    """

    def __init__(self, size: int) -> None:
        self._ctx = multiprocessing.get_context("spawn")
        self._conns: list[Connection] = []
        self._procs: list[BaseProcess] = []
        for i in range(size):
            self._spawn(i)
        self._busy: set[int] = set()

    def _spawn(self, i: int) -> None:
        parent, child = self._ctx.Pipe()
        proc = self._ctx.Process(target=_serve, args=(child,), daemon=True, name=f"truth-{i}")
        if i < len(self._procs):
            self._conns[i], self._procs[i] = parent, proc
        else:
            self._conns.append(parent)
            self._procs.append(proc)

    @property
    def size(self) -> int:
        """How many workers there are."""
        return len(self._procs)

    def start(self) -> Pool:
        """Start every worker and wait until each answers."""
        self._start(range(self.size))
        return self

    def _start(self, workers: Iterable[int]) -> None:
        ids = list(workers)
        for i in ids:
            self._procs[i].start()
        for i in ids:
            kind, _ = self._receive(i, START_TIMEOUT_S)
            if kind != "ready":
                raise BenchmarkError(f"worker {i} sent {kind!r} instead of starting")

    def heal(self) -> None:
        """Replace every busy worker (one left in the middle of an order) with a fresh one."""
        busy, self._busy = sorted(self._busy), set()
        for i in busy:
            self._procs[i].kill()
            self._procs[i].join()
            self._conns[i].close()
            self._spawn(i)
        self._start(busy)

    def ready(self, workers: Iterable[int]) -> None:
        """Wait for each of ``workers`` to signal ``"ready"`` (its order set up)."""
        for i in workers:
            if (said := self.signal(i)) != "ready":
                raise BenchmarkError(f"worker {i} said {said!r} instead of 'ready'")

    def order(self, i: int, function: Callable[..., Any], **kwargs: Any) -> None:
        """Have worker ``i`` run ``function(link, **kwargs)``."""
        self._busy.add(i)
        self._conns[i].send((function, kwargs))

    def tell(self, i: int, payload: object) -> None:
        """Send worker ``i`` a message for the order it runs."""
        self._conns[i].send(payload)

    def signal(self, i: int, timeout_s: float = START_TIMEOUT_S) -> Any:
        """The next signal from worker ``i``'s order."""
        kind, value = self._receive(i, timeout_s)
        if kind != "signal":
            raise BenchmarkError(f"worker {i}: expected a signal, got {kind!r}: {value}")
        return value

    def result(self, i: int, timeout_s: float) -> Any:
        """The return value of worker ``i``'s order (signals still unread are skipped)."""
        while True:
            kind, value = self._receive(i, timeout_s)
            if kind == "done":
                self._busy.discard(i)
                return value
            if kind != "signal":
                raise BenchmarkError(f"worker {i}: unexpected {kind!r}")

    def _receive(self, i: int, timeout_s: float) -> tuple[str, Any]:
        conn = self._conns[i]
        if not conn.poll(timeout_s):
            alive = self._procs[i].is_alive()
            raise BenchmarkError(
                f"worker {i} sent nothing within {timeout_s:g} s ({'alive' if alive else 'dead'})"
            )
        try:
            kind, value = conn.recv()
        except EOFError:
            raise BenchmarkError(f"worker {i} died (exit code {self._procs[i].exitcode})") from None
        if kind == "error":
            self._busy.discard(i)  # the order ended; the worker serves the next one
            raise BenchmarkError(f"worker {i} failed:\n{value}")
        return kind, value

    def close(self) -> None:
        """Stop every worker (a stuck one is killed)."""
        for conn in self._conns:
            with contextlib.suppress(OSError):  # a worker that died has closed its end
                conn.send(None)
        for proc in self._procs:
            if proc.pid is None:
                continue
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()
                proc.join()
        for conn in self._conns:
            conn.close()

    def __enter__(self) -> Pool:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def mock_now(admin: MockAdmin) -> tuple[float, float, float]:
    """The mock's virtual now, the monotonic instant it was read at, and its speed (virtual
    seconds per real second)."""
    before = time.monotonic()
    clock = admin.clock()
    return clock["virtual_now_s"], (before + time.monotonic()) / 2, clock["speed"]


def fill_window(filler: httpx.Client, limit: int) -> httpx.Response:
    """Send ``POST /v1/email`` with ``filler`` (a token the governor does not know of) until the
    mock answers 429: the account's current window then holds its limit. Returns the 429."""
    for i in range(2 * limit + 10):
        response = filler.post("/v1/email", json=email(i))
        if response.status_code == 429:
            return response
    raise BenchmarkError(f"no 429 after {2 * limit + 10} sends: is the window {limit}/minute?")


@dataclass(frozen=True)
class Provoked:
    """A 429 the mock answered on purpose: the response, when it arrived (monotonic), and the
    Retry-After (provider seconds) and Date (provider epoch seconds) it carries."""

    response: httpx.Response
    received_mono: float
    retry_after_s: int
    date_s: float


def provoke(
    admin: MockAdmin,
    filler: httpx.Client,
    send: Callable[[], httpx.Response],
    retry_after_s: int,
    limit: int,
) -> Provoked:
    """Fill the window, move the mock's clock to ``retry_after_s`` (minus a hair) before the
    window ends, then ``send()``: the provider answers 429 ``Retry-After: retry_after_s``
    (a few milliseconds between the jump and the request cost less than the hair at any
    time scale used here). A jump refused because the window ended meanwhile fills the next
    one, and so does a window already too far gone to be left ``retry_after_s`` before its
    end (the clock is moved to the next window's start)."""
    for _ in range(5):
        full = fill_window(filler, limit)
        end_s = (math.floor(date_s(full) / MINUTE_S) + 1) * MINUTE_S
        target_s = end_s - retry_after_s + _JUMP_MARGIN_S
        try:
            # Date is the whole second the provider's now is in: now < Date + 1.
            admin.jump(to=target_s if date_s(full) + 1 < target_s else end_s)
        except AdminError:  # the window ended while filling: the mock never goes back
            continue
        if date_s(full) + 1 >= target_s:
            continue
        response = send()
        received = time.monotonic()
        if response.status_code != 429:
            raise BenchmarkError(f"expected the provider's 429, got {response.status_code}")
        return Provoked(response, received, int(response.headers["retry-after"]),
                        date_s(response))
    raise BenchmarkError("could not land a request just before the window's end")
