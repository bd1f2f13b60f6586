"""Live progress of a demo run: a rich ``Live`` panel on a terminal, plain lines otherwise."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import IO, TYPE_CHECKING, Protocol

from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from governor.demo.runner import RunFacts
    from governor.demo.tally import Tally

__all__ = [
    "LiveProgress", "NoProgress", "PlainProgress", "Progress", "choose_progress", "redis_warning",
]

_LIVE_EVERY_S = 0.25
_PLAIN_EVERY_S = 2.0


class Progress(Protocol):
    """What the runner tells the display: the run started, the tally moved, the run ended."""

    def start(self, facts: RunFacts, tally: Tally) -> None: ...

    def update(self, tally: Tally, now_s: float) -> None: ...

    def stop(self) -> None: ...


class NoProgress:
    """Shows nothing (``--json`` without a terminal)."""

    def start(self, facts: RunFacts, tally: Tally) -> None:
        """Nothing to show."""

    def update(self, tally: Tally, now_s: float) -> None:
        """Nothing to show."""

    def stop(self) -> None:
        """Nothing to show."""


def _unit(period_s: float) -> str:
    return {1.0: "s", 60.0: "min"}.get(period_s, f"{period_s:g} s")


def provider_time(facts: RunFacts, now_s: float) -> str:
    """The mock's clock (aligned, plus the scenario's offset): ``HH:MM:SS`` UTC of provider
    time."""
    virtual = now_s * 60.0 / facts.time_scale + facts.scenario.clock_offset_s
    return datetime.fromtimestamp(virtual, tz=timezone.utc).strftime("%H:%M:%S")


def redis_warning(facts: RunFacts) -> str | None:
    """What to say up front when the Redis given did not answer (None: it did)."""
    if facts.redis_down is None:
        return None
    return (f"warning: Redis at {facts.redis} fails a first read ({facts.redis_down}); every "
            f"worker decides alone, on its 1/{facts.options.workers} share of every limit, "
            "and the report counts those degraded decisions")


def _numbers(facts: RunFacts, tally: Tally, now_s: float) -> dict[str, str]:
    s, unit = facts.scenario, _unit(facts.scenario.period_s)
    limit = tally.limit_seen or s.limit
    rate = tally.rate(now_s)
    total = f"{tally.total:,}" if tally.total is not None else "-"
    paused = tally.paused_for(now_s)
    waits = tally.wait_percentiles()
    if not tally.ready or len(tally.ready) < tally.workers:
        phase = f"starting workers ({len(tally.ready)}/{tally.workers} ready)"
    elif not facts.started_s:
        phase = "ready; waiting for the start"
    elif paused:
        phase = "paused by the server"
    elif tally.quota_left == 0 and (facts.midnight is None or now_s < facts.midnight.reset_s):
        phase = "the daily quota is spent: waiting for the provider's midnight UTC"
    elif tally.quota_left == 0:
        phase = "the provider's quota has reset: waiting for the fleet to resume"
    else:
        phase = "sending"
    return {
        "phase": phase,
        "sent": f"{tally.sent:,} / {total}",
        "429s": f"{tally.limited:,}" + (f"  {dict(tally.codes)}" if tally.codes else ""),
        "503s": f"{tally.statuses[503]:,}",
        "rate": f"{rate:.0f}/{unit} of {limit}/{unit} ({rate / limit:.0%})",
        "quota left": f"{tally.quota_left:,}" if tally.quota_left is not None else "-",
        "pauses": f"{tally.pause_reason}: {paused:.1f} s left" if paused else "none",
        "waits": " · ".join(
            f"{k} {v:.2f} s" for k, v in waits.items() if v is not None and k != "max"
        ) or "-",
        "provider time": provider_time(facts, now_s) + " UTC",
        "requeued": f"{tally.requeued:,}",
    }


class LiveProgress:
    """A panel redrawn a few times a second on a terminal."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._live: Live | None = None
        self._facts: RunFacts | None = None
        self._tally: Tally | None = None
        self._last = 0.0

    def start(self, facts: RunFacts, tally: Tally) -> None:
        """Open the live panel."""
        self._facts, self._tally = facts, tally
        self._live = Live(console=self.console, auto_refresh=False, transient=False)
        self._live.start()
        self.update(tally, time.time())

    def update(self, tally: Tally, now_s: float) -> None:
        """Redraw, at most four times a second."""
        if self._live is None or self._facts is None or now_s - self._last < _LIVE_EVERY_S:
            return
        self._last = now_s
        self._live.update(self._render(self._facts, tally, now_s), refresh=True)

    def _render(self, facts: RunFacts, tally: Tally, now_s: float) -> Group:
        s = facts.scenario
        numbers = _numbers(facts, tally, now_s)
        warning = redis_warning(facts)
        head = Text.assemble(("governor demo", "bold"), f" · {s.name} · {s.summary}\n",
                             (f"{tally.workers} workers · a provider minute lasts "
                              f"{facts.time_scale:.4g} s · Redis {facts.redis or '...'}", "dim"),
                             ("\n" + warning, "yellow") if warning else "")
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="cyan", justify="right")
        grid.add_column()
        done = len(tally.acked) if tally.total is not None else now_s - (facts.started_s or now_s)
        total = tally.total or facts.options.duration_s or 1.0
        grid.add_row("", ProgressBar(total=float(total), completed=float(done), width=50))
        for key in ("phase", "sent", "429s", "503s", "rate", "quota left", "pauses", "waits",
                    "provider time"):
            grid.add_row(key, numbers[key])
        workers = Table(box=None, padding=(0, 1), show_edge=False)
        workers.add_column("worker", style="dim")
        for w in range(tally.workers):
            workers.add_column(str(w), justify="right")
        stats = [tally.per_worker.get(w) for w in range(tally.workers)]
        workers.add_row("sent", *[str(st.sent if st else 0) for st in stats])
        workers.add_row("429s", *[str(st.limited if st else 0) for st in stats])
        workers.add_row("503s", *[str(st.unavailable if st else 0) for st in stats])
        return Group(head, grid, workers)

    def stop(self) -> None:
        """Close the panel, leaving its last state on screen."""
        if self._live is not None and self._facts is not None and self._tally is not None:
            self._live.update(self._render(self._facts, self._tally, time.time()), refresh=True)
            self._live.stop()
            self._live = None


class PlainProgress:
    """One line every couple of seconds, for logs and pipes."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self._facts: RunFacts | None = None
        self._last = 0.0

    def start(self, facts: RunFacts, tally: Tally) -> None:
        """Say what runs."""
        self._facts = facts
        s = facts.scenario
        print(f"governor demo: {s.name}: {s.summary}; {tally.workers} workers; a provider "
              f"minute lasts {facts.time_scale:.4g} s", file=self.stream, flush=True)
        warning = redis_warning(facts)
        if warning:
            print(warning, file=self.stream, flush=True)

    def update(self, tally: Tally, now_s: float) -> None:
        """A line, every couple of seconds."""
        if self._facts is None or now_s - self._last < _PLAIN_EVERY_S:
            return
        self._last = now_s
        n = _numbers(self._facts, tally, now_s)
        elapsed = now_s - (self._facts.started_s or now_s)
        print(f"[{elapsed:6.1f}s] {n['phase']}: sent {n['sent']} · 429s {n['429s']} · "
              f"rate {n['rate']} · quota left {n['quota left']} · pause {n['pauses']} · "
              f"provider time {n['provider time']}", file=self.stream, flush=True)

    def stop(self) -> None:
        """Nothing to close."""


def choose_progress(console: Console, *, quiet: bool) -> Progress:
    """Live on a terminal, plain lines otherwise; nothing when ``quiet`` and not a terminal."""
    if console.is_terminal:
        return LiveProgress(console)
    return NoProgress() if quiet else PlainProgress(console.file)
