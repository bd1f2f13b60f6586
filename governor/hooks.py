"""Hooks: what a governor reports about every decision and every response.

Pass any object with the two methods of :class:`Hooks` as ``Governor(..., hooks=...)`` (or
``AsyncGovernor``). Hooks run inline, after the decision or the reconcile, so they must be
quick; an exception in a hook is logged and swallowed (a broken metrics exporter never stops
sending). Without hooks the governor pays one ``is None`` check per call.

:class:`PrometheusHooks` exports the metrics with ``prometheus-client`` (the ``metrics``
extra): decisions (allowed, denied, degraded), the waits decided (a histogram), responses by
outcome, 429s received, header drift (server remaining minus the local estimate) and pauses.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from governor.decision import Decision, Feedback

__all__ = ["Hooks", "PrometheusHooks", "call_hook"]

log = logging.getLogger("governor")


class Hooks(Protocol):
    """Receives every decision and every reconciled response."""

    def on_decision(self, decision: Decision) -> None:
        """After every decision (allowed or denied, degraded or not)."""

    def on_feedback(self, route: str, status: int, feedback: Feedback) -> None:
        """After every response fed back with ``observe``."""


def call_hook(hook: Any, *args: object) -> None:
    """Run ``hook(*args)``; log and swallow what it raises."""
    try:
        hook(*args)
    except Exception:
        log.exception("governor: a hook raised; ignored")


class PrometheusHooks:
    """:class:`Hooks` that update Prometheus metrics (``prometheus_client``).

    ``registry`` defaults to the global one; ``namespace`` prefixes every metric name.
    Without ``prometheus-client`` installed it raises ``ModuleNotFoundError`` naming the extra
    that brings it: ``pip install 'quota-governor[metrics]'``.
    """

    def __init__(self, registry: Any = None, namespace: str = "governor") -> None:
        try:
            from prometheus_client import REGISTRY, Counter, Histogram  # noqa: PLC0415 - optional
        except ModuleNotFoundError as exc:
            if exc.name != "prometheus_client":
                raise
            raise ModuleNotFoundError(
                "PrometheusHooks needs prometheus-client, which the 'metrics' extra installs: "
                "pip install 'quota-governor[metrics]'", name=exc.name,
            ) from exc

        registry = REGISTRY if registry is None else registry
        labels = ("route", "scope")
        self.decisions = Counter(
            "decisions", "Decisions by result.", (*labels, "result"),
            namespace=namespace, registry=registry,
        )
        self.degraded = Counter(
            "degraded_decisions", "Decisions made without the shared state.", ("route",),
            namespace=namespace, registry=registry,
        )
        self.waits = Histogram(
            "wait_seconds", "Waits decided for allowed calls.", ("route",),
            buckets=(0, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
            namespace=namespace, registry=registry,
        )
        self.responses = Counter(
            "responses", "Responses fed back, by outcome.", ("route", "outcome"),
            namespace=namespace, registry=registry,
        )
        self.rate_limited = Counter(
            "rate_limited_responses", "429 responses received.", ("route",),
            namespace=namespace, registry=registry,
        )
        self.drift = Histogram(
            "header_drift_calls", "Server remaining minus the local estimate.", ("route",),
            buckets=(-100, -20, -5, -1, 0, 1, 5, 20, 100),
            namespace=namespace, registry=registry,
        )
        self.pauses = Counter(
            "pauses", "Pauses imposed by responses.", ("route", "scope"),
            namespace=namespace, registry=registry,
        )

    def on_decision(self, decision: Decision) -> None:
        """Count the decision; observe the wait of an allowed one."""
        result = "allowed" if decision.allowed else "denied"
        self.decisions.labels(decision.route, decision.scope, result).inc()
        if decision.allowed:
            self.waits.labels(decision.route).observe(decision.wait_s)
        if decision.degraded:
            self.degraded.labels(decision.route).inc()

    def on_feedback(self, route: str, status: int, feedback: Feedback) -> None:
        """Count the response by outcome; record 429s, drift and pauses."""
        self.responses.labels(route, feedback.outcome.kind.value).inc()
        if status == 429:
            self.rate_limited.labels(route).inc()
        adj = feedback.adjustment
        if adj is None:
            return
        if adj.drift is not None:
            self.drift.labels(route).observe(adj.drift)
        if adj.bucket_pause_us:
            self.pauses.labels(route, adj.bucket or "bucket").inc()
        if adj.account_pause_us:
            self.pauses.labels(route, "account").inc()
