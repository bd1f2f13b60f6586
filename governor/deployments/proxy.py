"""A TCP proxy on loopback for fault drills: it forwards to a server, and on command delays
every chunk or black-holes the traffic.

::

    proxy = Proxy(server.port)           # listens on 127.0.0.1:<proxy.port>
    backend = RedisBackend.from_url(proxy.url)
    proxy.latency_s = 2.0                # each chunk, either way, is held 2 s
    proxy.blackhole = True               # connections stay open; nothing gets through
    proxy.heal()                         # back to plain forwarding
    proxy.close()

Threads, one pair per connection; chunks are delayed in order (a slow link, not a reordering
one). Black-holed bytes are read and dropped, as a lost route would drop them: a client sees no
error, only silence until its own timeout. Loopback only.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

__all__ = ["Proxy"]

_CHUNK = 65536


class Proxy:
    """Forwards 127.0.0.1:``port`` to 127.0.0.1:``target_port`` until :meth:`close`."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.latency_s = 0.0
        self.blackhole = False
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, name=f"proxy:{self.port}", daemon=True).start()

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``: the target server, through the proxy."""
        return f"redis://127.0.0.1:{self.port}/0"

    def heal(self) -> None:
        """Forward again at once: no latency, no black hole."""
        self.latency_s, self.blackhole = 0.0, False

    def close(self) -> None:
        """Stop listening and close every proxied connection."""
        self._closed = True
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:  # the server is down: the client sees the connection closed
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(_CHUNK)
                if not data:
                    break
                if self.latency_s > 0:
                    time.sleep(self.latency_s)
                if not self.blackhole:
                    dst.sendall(data)
        except OSError:
            pass
        finally:  # one side gone: close both, as a real link would
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def __repr__(self) -> str:
        state = "black hole" if self.blackhole else f"latency {self.latency_s:g}s"
        return f"Proxy(127.0.0.1:{self.port} -> 127.0.0.1:{self.target_port}, {state})"
