"""OpenTelemetry metrics: :class:`OpenTelemetryHooks`, the :class:`~governor.hooks.Hooks` that
record every decision and every response through ``opentelemetry-api`` (the ``otel`` extra),
beside :class:`~governor.hooks.PrometheusHooks`.

The instruments follow the OpenTelemetry naming and unit conventions and the closest stable
precedent, the ASP.NET Core rate-limiting meter (a requests counter with a ``result``
attribute, a ``time_in_queue`` histogram in seconds;
https://opentelemetry.io/docs/specs/semconv/dotnet/dotnet-aspnetcore-metrics/):

``governor.decisions`` (Counter, ``{decision}``)
    route, scope, ``governor.result`` (``allowed`` / ``denied``), ``governor.degraded`` (a
    bool: decided without the shared state)
``governor.request.time_in_queue`` (Histogram, ``s``)
    route, scope: the wait decided for an allowed call
``governor.responses`` (Counter, ``{response}``)
    route, ``http.response.status_code``, ``governor.outcome``, ``governor.outcome.scope``
``governor.pauses`` (Counter, ``{pause}``)
    route, scope (the bucket paused, or ``account``)
``governor.header.drift`` (Histogram, ``{call}``)
    route, ``governor.drift.direction``: how far the provider's remaining calls are from the
    local estimate (an OpenTelemetry histogram takes no negative values, so the size is
    recorded and the sign is the direction: ``server_lower``, the provider counts more
    spent than this fleet did, others spend too; ``server_higher``; ``none``)

Attribute values are bounded: ``governor.route`` is a profile route name (``POST /v1/email``;
a route text ``observe`` was given that no decision used is resolved by ``router`` when one
is given, else reported as ``other``), ``governor.scope`` a bucket name, ``quota`` or
``pause``, ``governor.outcome`` an :class:`~governor.outcome.OutcomeKind` value and
``governor.outcome.scope`` an outcome's scope hint (``rate``, ``quota``, ``service``, ...; or
``request``). Account keys, tokens and URLs never become attributes. 429s and 503s by scope
are ``governor.responses`` filtered on ``http.response.status_code``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from governor.errors import UnknownRoute

if TYPE_CHECKING:
    from governor.decision import Decision, Feedback
    from governor.routing import Router

__all__ = ["OpenTelemetryHooks"]

WAIT_BOUNDARIES_S = (0.0, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
                     60.0, 300.0)
DRIFT_BOUNDARIES = (0.0, 1.0, 5.0, 20.0, 100.0, 1000.0)
_MAX_ROUTES = 256  # routes decisions named: a profile has a few dozen at most
OTHER = "other"


class OpenTelemetryHooks:
    """:class:`~governor.hooks.Hooks` recording the metrics of the module docstring.

    ``meter_provider`` defaults to the global one (``opentelemetry.metrics``); the meter is
    named ``governor``. ``router`` (a governor's ``policy.router``) names the route of a
    response whose route text no decision used. Without ``opentelemetry-api`` installed it
    raises ``ModuleNotFoundError`` naming the extra: ``pip install 'quota-governor[otel]'``.
    """

    def __init__(self, meter_provider: Any = None, *, router: Router | None = None) -> None:
        try:
            from opentelemetry import metrics  # noqa: PLC0415 - optional
        except ModuleNotFoundError as exc:
            if not (exc.name or "").startswith("opentelemetry"):
                raise
            raise ModuleNotFoundError(
                "OpenTelemetryHooks needs opentelemetry-api, which the 'otel' extra installs: "
                "pip install 'quota-governor[otel]'", name=exc.name,
            ) from exc
        provider = meter_provider if meter_provider is not None else metrics.get_meter_provider()
        meter = provider.get_meter("governor")
        self.router = router
        self._routes: set[str] = set()
        self.decisions = meter.create_counter(
            "governor.decisions", unit="{decision}",
            description="Decisions made for calls, by result.")
        self.time_in_queue = meter.create_histogram(
            "governor.request.time_in_queue", unit="s",
            description="The wait decided for an allowed call before it may go.",
            explicit_bucket_boundaries_advisory=WAIT_BOUNDARIES_S)
        self.responses = meter.create_counter(
            "governor.responses", unit="{response}",
            description="Provider responses fed back, by status and outcome.")
        self.pauses = meter.create_counter(
            "governor.pauses", unit="{pause}", description="Pauses imposed by responses.")
        self.drift = meter.create_histogram(
            "governor.header.drift", unit="{call}",
            description="How far the provider's remaining calls are from the local estimate.",
            explicit_bucket_boundaries_advisory=DRIFT_BOUNDARIES)

    def on_decision(self, decision: Decision) -> None:
        """Count the decision; record the wait of an allowed one."""
        route = decision.route
        if route not in self._routes and len(self._routes) < _MAX_ROUTES:
            self._routes.add(route)
        where = {"governor.route": route, "governor.scope": decision.scope}
        self.decisions.add(1, {**where, "governor.result": "allowed" if decision.allowed
                               else "denied", "governor.degraded": decision.degraded})
        if decision.allowed:
            self.time_in_queue.record(decision.wait_s, where)

    def on_feedback(self, route: str, status: int, feedback: Feedback) -> None:
        """Count the response; record drift and pauses."""
        name = self._route(route)
        outcome = feedback.outcome
        self.responses.add(1, {
            "governor.route": name, "http.response.status_code": status,
            "governor.outcome": outcome.kind.value,
            "governor.outcome.scope": outcome.scope_hint or "request",
        })
        adj = feedback.adjustment
        if adj is None:
            return
        if adj.drift is not None:
            direction = "none" if adj.drift == 0 else (
                "server_higher" if adj.drift > 0 else "server_lower")
            self.drift.record(abs(adj.drift), {"governor.route": name,
                                               "governor.drift.direction": direction})
        if adj.bucket_pause_us:
            self.pauses.add(1, {"governor.route": name, "governor.scope": adj.bucket or "bucket"})
        if adj.account_pause_us:
            self.pauses.add(1, {"governor.route": name, "governor.scope": "account"})

    def _route(self, text: str) -> str:
        """A bounded route name for ``text``: a route a decision named, else the router's."""
        if text in self._routes:
            return text
        if self.router is None:
            return OTHER
        try:
            return self.router.resolve(text).name
        except UnknownRoute:
            return OTHER

    def __repr__(self) -> str:
        return f"OpenTelemetryHooks(routes={sorted(self._routes)})"
