"""``MockServer``: the mock provider served by uvicorn on a loopback port.

Two ways to run it, same HTTP API:

* **thread** (default): uvicorn runs in a daemon thread of this process, on a socket bound
  before the thread starts (so the port is known at once and never raced). The rules and the
  clock are in-process (:attr:`MockServer.rules`, :attr:`MockServer.clock`).
* **process**: ``python -m governor.mock`` in a child process, for runs where the server must
  not share this process's GIL (benchmarks). Configure it over HTTP (:attr:`MockServer.admin`).

``start()`` returns once the server answers ``GET /_admin/health``, or raises RuntimeError
when it exits first or has not answered within ``startup_timeout_s`` (a child process on a busy
machine can take many seconds to import: the default allows a minute). ``stop()`` asks uvicorn
to finish (in-flight requests get up to a second), joins the thread or reaps the child, and is
safe to call twice. Used as a context manager, the server stops even on Ctrl-C. The child
ignores a terminal's Ctrl-C until uvicorn serves (no traceback from a half-imported child) and
is stopped by SIGTERM, which it obeys at any moment.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

import httpx
import uvicorn

from governor.embedded import die_with_parent
from governor.mock.admin import MockAdmin
from governor.mock.app import create_app
from governor.mock.clock import VirtualClock
from governor.mock.latency import ReplyDelay
from governor.mock.rules import MockRules

if TYPE_CHECKING:
    from types import TracebackType

    from starlette.applications import Starlette

    from governor.capacity import Latency
    from governor.mock.windows import WindowMode

__all__ = ["MockServer", "uvicorn_server"]

_STOP_TIMEOUT_S = 5.0
STARTUP_TIMEOUT_S = 60.0


def uvicorn_server(app: Starlette, *, quiet: bool = True) -> uvicorn.Server:
    """A uvicorn server for ``app``: no access log, the app's own (virtual) ``Date`` header,
    and (``quiet``) no changes to the host program's logging configuration."""
    config = uvicorn.Config(
        app,
        log_level="warning",
        log_config=None if quiet else uvicorn.config.LOGGING_CONFIG,
        access_log=False,
        lifespan="off",
        date_header=False,
        server_header=False,
        timeout_graceful_shutdown=1,
    )
    return uvicorn.Server(config)


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only when the
    # listening socket says it is TCP; with proto 0, every reply waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def _child_setup() -> None:  # pragma: no cover - runs in the child, before exec
    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # kept over exec; uvicorn installs its own


class MockServer:
    """The mock provider on ``http://host:port`` (see :mod:`governor.mock.app` for the API).

    ``provider`` is a built-in profile name or a profile path; ``window`` is ``"fixed"`` or
    ``"sliding"``; ``time_scale`` is real seconds per provider minute; ``start_s`` is the
    virtual start time (None: aligned with the governor's scaled clock), or ``clock_offset_s``
    how many virtual seconds the provider's clock runs ahead of that alignment (negative:
    behind; every time it states, its quota reset included, moves with it, see
    :mod:`governor.mock.clock`); ``rate_headers``
    overrides the provider's default (Lettr hides its limit); ``latency`` is how long each
    provider reply waits, in real seconds (fixed, or log-normal through a median and a p99;
    None: no wait), drawn in arrival order from an RNG seeded with ``latency_seed`` (see
    :mod:`governor.mock.latency`); ``process=True`` runs the server in a child process.
    """

    def __init__(
        self,
        provider: str = "mailersend",
        *,
        window: WindowMode = "fixed",
        time_scale: float = 60.0,
        start_s: float | None = None,
        clock_offset_s: float = 0.0,
        rate_headers: bool | None = None,
        latency: Latency | None = None,
        latency_seed: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        process: bool = False,
        startup_timeout_s: float = STARTUP_TIMEOUT_S,
    ) -> None:
        self.provider, self.window, self.time_scale = provider, window, time_scale
        self.start_s, self.clock_offset_s = start_s, clock_offset_s
        self.rate_headers = rate_headers
        self.delay = ReplyDelay(latency, latency_seed)
        self.host, self.process, self.startup_timeout_s = host, process, startup_timeout_s
        self._port = port
        self._rules: MockRules | None = None
        self._clock: VirtualClock | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._child: subprocess.Popen[bytes] | None = None
        self._admin: MockAdmin | None = None
        # Fail fast on a bad provider, window, scale, start, offset or latency, before any
        # thread or child process.
        rules = MockRules(provider, window=window, time_scale=time_scale, rate_headers=rate_headers)
        clock = VirtualClock(time_scale, start_s, offset_s=clock_offset_s)
        if process:
            self.delay.args()  # a latency of samples has no command-line form
        else:
            self._rules, self._clock = rules, clock

    @property
    def port(self) -> int:
        """The port the server listens on (known once started)."""
        return self._port

    @property
    def url(self) -> str:
        """``http://host:port``, the base URL of the provider API and of ``/_admin``."""
        return f"http://{self.host}:{self._port}"

    @property
    def running(self) -> bool:
        """Whether the server was started and has not stopped."""
        if self._thread is not None:
            return self._thread.is_alive()
        return self._child is not None and self._child.poll() is None

    @property
    def rules(self) -> MockRules:
        """The in-process rules (thread mode only)."""
        if self._rules is None:
            raise RuntimeError("a process-mode server has no in-process rules; use .admin")
        return self._rules

    @property
    def clock(self) -> VirtualClock:
        """The in-process virtual clock (thread mode only)."""
        if self._clock is None:
            raise RuntimeError("a process-mode server has no in-process clock; use .admin")
        return self._clock

    @property
    def admin(self) -> MockAdmin:
        """A small HTTP client of ``/_admin`` (created on first use, closed by ``stop``)."""
        if self._admin is None:
            self._admin = MockAdmin(self.url)
        return self._admin

    def start(self) -> MockServer:
        """Start serving; returns once the server answers. Raises RuntimeError if it cannot."""
        if self.running:
            return self
        if self.process:
            self._start_process()
        else:
            self._start_thread()
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_thread(self) -> None:
        sock = bind_socket(self.host, self._port)
        self._port = sock.getsockname()[1]
        self._server = uvicorn_server(create_app(self.rules, self.clock, self.delay))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]},
            name=f"governor-mock-{self._port}", daemon=True,
        )
        self._thread.start()

    def _start_process(self) -> None:
        if self._port == 0:
            with contextlib.closing(bind_socket(self.host, 0)) as probe:
                self._port = probe.getsockname()[1]
        args = [
            sys.executable, "-m", "governor.mock", "--provider", self.provider,
            "--host", self.host, "--port", str(self._port), "--window", self.window,
            "--time-scale", repr(self.time_scale),
        ]
        if self.start_s is not None:
            args += ["--start", repr(self.start_s)]
        if self.clock_offset_s:
            args.append(f"--clock-offset-s={self.clock_offset_s!r}")  # "=": it may be negative
        if self.rate_headers is not None:
            args.append("--rate-headers" if self.rate_headers else "--no-rate-headers")
        args += self.delay.args()
        self._child = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
            preexec_fn=_child_setup,  # noqa: PLW1509 - prctl and a signal disposition; no locks
        )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(f"the mock server on port {self._port} exited while starting")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(self.url + "/_admin/health", timeout=1.0).status_code == 200:
                    return
            time.sleep(0.02)
        raise RuntimeError(
            f"the mock server did not answer on {self.url} within {self.startup_timeout_s:g} s "
            "(a busy machine? give it longer: startup_timeout_s, governor demo --startup-timeout)"
        )

    def stop(self) -> None:
        """Stop serving and wait for the thread or child to end; idempotent."""
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(_STOP_TIMEOUT_S)
            if self._thread.is_alive():  # stuck on a connection: stop waiting for it
                self._server.force_exit = True
                self._thread.join(_STOP_TIMEOUT_S)
            self._server = self._thread = None
        if self._child is not None:
            child, self._child = self._child, None
            if child.poll() is None:
                child.terminate()
                try:
                    child.wait(_STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        mode = "process" if self.process else "thread"
        state = "running" if self.running else "stopped"
        return f"MockServer({self.provider!r}, {self.url}, {mode}, {state})"

    def __getstate__(self) -> dict[str, Any]:
        raise TypeError("a MockServer cannot be pickled; pass its url to worker processes")
