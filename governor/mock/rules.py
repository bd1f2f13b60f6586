"""The mock provider's rules: does a request pass, and with which status, headers and body. Pure.

Time is a parameter (``now_s``, virtual epoch seconds; see :mod:`governor.mock.clock`); nothing
here does I/O. Limits come from the provider profile, resolved per account for its plan and
reputation: the route a request matches names the buckets it spends, each bucket's
:class:`~governor.limits.Rate` is "limit per period", and the plan gives the daily quota.

One request, in order (the first step that refuses it decides the reply):

1. **Auth**: no token or an unknown one: 401; nothing is counted.
2. **Outage**: inside a scheduled outage: 503 with ``Retry-After`` until its end.
3. **Daily quota**: if the request costs quota and the virtual day's quota cannot take it: 429
   (MailerSend ``#MS42901``) with ``Retry-After`` until the next virtual midnight, logged as
   ``over_quota``: a send over the quota (it costs nothing more).
4. **Windows**: if any window of the route's buckets already holds its limit: 429 (MailerSend
   ``#MS42903``), reporting the *binding* bucket (the one that frees a slot last). A refused
   request fills no window; where the provider counts failed requests against the quota
   (MailerSend), it still costs quota.
5. **Admitted**: the request fills every window of its route and pays its quota cost. Then an
   ``Idempotency-Key`` seen in the last 24 h replays the first reply (nothing is delivered),
   a send over the batch limit is a 422, an account over its own email cap gets the dialect's
   refusal, and otherwise the messages are delivered.

Quota other senders of the account spend (another token, the SMTP relay: MailerSend counts
them all) is charged by :meth:`MockRules.spend` and logged out of band; it fills no window.

The dialect (:mod:`~governor.mock.mailersend`, :mod:`~governor.mock.sendmux`,
:mod:`~governor.mock.lettr`) renders every reply and adds its headers.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from governor.errors import UnknownRoute
from governor.mock.accounts import Account, AccountBook, short_digest, token_digest
from governor.mock.clock import TimeScale, day_of, next_midnight_s
from governor.mock.idempotency import CONFLICT, IdempotencyStore, fingerprint
from governor.mock.lettr import Lettr
from governor.mock.log import OUT_OF_BAND, LogEntry
from governor.mock.mailersend import MailerSend
from governor.mock.outages import OutageSchedule
from governor.mock.report import build_report
from governor.mock.sendmux import Sendmux
from governor.mock.windows import Window, WindowMode, make_window
from governor.mock.wire import Call, Dialect, QuotaView, RateView, Reply, SendKind, Snapshot
from governor.profile import Profile, load_profile
from governor.routing import Router

if TYPE_CHECKING:
    from pathlib import Path

    from governor.limits import Rate

__all__ = ["MockRules"]

DIALECTS: dict[str, type[Dialect]] = {"mailersend": MailerSend, "sendmux": Sendmux, "lettr": Lettr}


@dataclass(slots=True)
class _Request:
    """One request on its way through the rules, and what has happened to it so far."""

    now_s: float
    account: Account
    token: str
    call: Call
    route: str
    rates: list[tuple[str, Rate]]
    windows: list[Window]
    send: SendKind | None
    messages: int
    key: str | None
    cost: int
    binding: int | None = None
    wait_s: float | None = None
    admitted: bool = False
    charged: int = 0
    delivered: int = 0
    replay: bool = False
    over_quota: bool = False


class MockRules:
    """Per-account state and the decision for each request, for one provider.

    ``provider`` is a built-in profile name, a profile path or a :class:`Profile` (its dialect
    must be mailersend, sendmux or lettr). ``window`` picks fixed or sliding windows;
    ``time_scale`` (real seconds per provider minute) only converts ``Retry-After`` to real
    seconds; ``rate_headers`` overrides the dialect's default (Lettr hides its limit).

    ``accounts`` (:class:`~governor.mock.accounts.AccountBook`: ``add``, ``configure``) and
    ``outages`` (:class:`~governor.mock.outages.OutageSchedule`: ``add``, ``clear``) are the
    settings an admin changes at run time; ``log`` is the request log. Thread-safe.
    """

    def __init__(
        self,
        provider: str | Path | Profile = "mailersend",
        *,
        window: WindowMode = "fixed",
        time_scale: float = 60.0,
        rate_headers: bool | None = None,
    ) -> None:
        self.profile = provider if isinstance(provider, Profile) else load_profile(provider)
        if self.profile.dialect not in DIALECTS:
            raise ValueError(
                f"the mock speaks {sorted(DIALECTS)}, not {self.profile.dialect!r} "
                f"(profile {self.profile.name!r})"
            )
        make_window(window, 60.0)  # refuses an unknown window kind now, not on first request
        self.dialect = DIALECTS[self.profile.dialect]()
        self.window: WindowMode = window
        self.scale = TimeScale(time_scale)
        self.rate_headers = self.dialect.default_rate_headers
        if rate_headers is not None:
            self.rate_headers = rate_headers
        self.accounts = AccountBook(self.profile)
        self.outages = OutageSchedule()
        self.log: list[LogEntry] = []
        self._router = Router(self.profile.resolve().routes)
        self._windows: dict[tuple[str, str], Window] = {}
        self._keys = IdempotencyStore()
        self._lock = threading.RLock()

    # -- administration (accounts: ``self.accounts``; outages: ``self.outages``) ----------

    def reset(self, *, accounts: bool = False) -> None:
        """Forget the log, windows, idempotency keys, outages and counters; ``accounts=True``
        forgets the accounts too."""
        with self._lock:
            self.log.clear()
            self._windows.clear()
            self._keys.clear()
            self.outages.clear()
            self.accounts.reset_counters()
            if accounts:
                self.accounts.clear()

    def spend(self, name: str, units: int, now_s: float) -> LogEntry:
        """Spend ``units`` of account ``name``'s daily quota at virtual time ``now_s``, as its
        other senders would, and log it out of band; returns the entry (its ``quota_cost`` is
        what the day had room for). Raises KeyError for an unknown account, ValueError for a
        negative amount or a plan without a daily quota."""
        with self._lock:
            account, day = self.accounts[name], day_of(now_s)
            spent = account.spend_quota(day, units)
            entry = LogEntry(len(self.log), now_s, name, "", "", "", OUT_OF_BAND, 0, None, "",
                             quota_cost=spent, quota_limit=account.quota_limit, day=day,
                             out_of_band=True)
            self.log.append(entry)
            return entry

    # -- requests -------------------------------------------------------------------------

    def handle(self, call: Call, now_s: float) -> Reply:
        """Decide ``call`` at virtual time ``now_s``, log it, and return the reply."""
        with self._lock:
            digest = token_digest(call.token) if call.token else ""
            account, token = self.accounts.by_token(digest), short_digest(digest)
            snap = Snapshot(now_s, None, None, None, len(self.log), None, False)
            entry = LogEntry(len(self.log), now_s, account.name if account else None, token,
                             call.method, call.path, "", 0, None, "", day=day_of(now_s))
            if account is None:
                return self._finish(self.dialect.unauthorized(snap), snap, entry)
            try:
                request = self._request(account, token, call, now_s)
            except UnknownRoute:
                return self._finish(Reply(404, {"message": "Not Found"}, "not_found"), snap, entry)
            return self._decide(request)

    def _request(self, account: Account, token: str, call: Call, now_s: float) -> _Request:
        d, limits = self.dialect, account.limits
        account.use_day(day_of(now_s))
        route = self._router.match(call.method, call.path)
        scope = account.name if d.rate_scope == "account" else token
        rates = [(b, limits.buckets[b]) for b in route.buckets]
        send = d.send_kind(call.method.upper(), call.path)
        payload = _json(call.body) if send is not None or d.idempotent else None
        messages = d.count_messages(send, payload) if send is not None else 0
        key = call.idempotency_key
        if key is None and isinstance(payload, dict):
            in_body = payload.get("idempotency_key")
            key = in_body if isinstance(in_body, str) else None
        cost = 0
        if limits.quota is not None:
            cost = int(route.quota) if d.quota_unit == "request" else messages
        windows = [self._window(scope, b, rate) for b, rate in rates]
        return _Request(now_s, account, token, call, route.name, rates, windows, send, messages,
                        key, cost)

    def _decide(self, r: _Request) -> Reply:
        d, account, now_s = self.dialect, r.account, r.now_s
        quota = account.limits.quota
        outage = self.outages.at(now_s)
        blocked = [
            (w.free_at(now_s, rate.limit), i)
            for i, (w, (_, rate)) in enumerate(zip(r.windows, r.rates, strict=True))
            if w.count(now_s) >= rate.limit
        ]
        if outage is not None:
            r.wait_s = outage.end_s - now_s
            reply = d.unavailable(outage.code, self._snapshot(r))
        elif quota is not None and r.cost and account.quota_used + r.cost > quota.limit:
            r.wait_s, r.over_quota = next_midnight_s(now_s) - now_s, True
            reply = d.quota_exceeded(self._snapshot(r))
        elif blocked:
            free_s, r.binding = max(blocked)
            r.wait_s = free_s - now_s
            if d.quota_unit == "request" and self.profile.quota.counts_failed:
                self._charge(r)
            reply = d.rate_limited(self._snapshot(r))
        else:
            for w in r.windows:
                w.add(now_s)
            r.admitted = True
            if d.quota_unit == "request":
                self._charge(r)
            reply = self._process(r)
        counted = r.rates if r.admitted else []
        entry = LogEntry(
            len(self.log), now_s, account.name, r.token, r.call.method, r.call.path, r.route,
            0, None, account.name if d.rate_scope == "account" else r.token,
            tuple(b for b, _ in counted), tuple(x.limit for _, x in counted),
            tuple(x.period_s for _, x in counted), r.charged, account.quota_limit,
            account.quota_day, r.delivered, short_digest(token_digest(r.key)) if r.key else None,
            r.replay, r.over_quota,
        )
        return self._finish(reply, self._snapshot(r), entry)

    def _process(self, r: _Request) -> Reply:
        """An admitted request: replay, validate, deliver."""
        d, account, method, path = self.dialect, r.account, r.call.method.upper(), r.call.path
        body_print = fingerprint(r.call.body)
        if d.idempotent and r.key is not None:
            first = self._keys.lookup(account.name, r.key, body_print, r.now_s)
            if first is CONFLICT:
                return d.idempotency_conflict(self._snapshot(r))
            if first is not None:
                r.replay = True
                first.headers["Idempotent-Replayed"] = "true"
                return first
        limit = d.max_messages(r.send) if r.send is not None else None
        if r.send is None:
            reply = d.accepted(method, path, 0, self._snapshot(r))
        elif limit is not None and r.messages > limit:
            reply = d.too_many_messages(r.send, r.messages, limit, self._snapshot(r))
        elif account.email_quota is not None and (
            account.delivered_total + r.messages > account.email_quota
        ):
            reply = d.allowance_exceeded(self._snapshot(r))
        else:
            if d.quota_unit == "message":
                self._charge(r)
            account.delivered_total += r.messages
            r.delivered = r.messages
            reply = d.accepted(method, path, r.messages, self._snapshot(r))
        if d.idempotent and r.key is not None:
            self._keys.remember(account.name, r.key, body_print, reply, r.now_s)
        return reply

    @staticmethod
    def _charge(r: _Request) -> None:
        r.account.quota_used += r.cost
        r.charged += r.cost

    def _finish(self, reply: Reply, snap: Snapshot, entry: LogEntry) -> Reply:
        reply.headers.update(self.dialect.headers(reply, snap))
        self.log.append(replace(entry, status=reply.status, code=reply.code))
        return reply

    def _snapshot(self, r: _Request) -> Snapshot:
        now_s = r.now_s
        view: RateView | None = None
        if r.binding is not None:
            (bucket, rate), window = r.rates[r.binding], r.windows[r.binding]
            view = RateView(bucket, rate.limit, 0, window.free_at(now_s, rate.limit))
        elif r.rates:
            views = [
                RateView(b, x.limit, max(0, x.limit - w.count(now_s)), w.reset_at(now_s))
                for (b, x), w in zip(r.rates, r.windows, strict=True)
            ]
            view = min(views, key=lambda v: (v.remaining, v.limit))
        quota = r.account.limits.quota
        quota_view = None
        if quota is not None:
            quota_view = QuotaView(quota.limit, r.account.quota_used, next_midnight_s(now_s))
        retry = self.scale.retry_after_s(r.wait_s) if r.wait_s is not None else None
        return Snapshot(now_s, view, quota_view, retry, len(self.log), r.send, self.rate_headers)

    def _window(self, scope: str, bucket: str, rate: Rate) -> Window:
        window = self._windows.get((scope, bucket))
        if window is None or window.period_s != rate.period_s:
            window = self._windows[(scope, bucket)] = make_window(self.window, rate.period_s)
        return window

    # -- views ----------------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """The server's settings and outages as JSON."""
        with self._lock:
            return {
                "provider": self.profile.name,
                "window": self.window,
                "time_scale": self.scale.time_scale,
                "rate_headers": self.rate_headers,
                "outages": [o.to_json() for o in self.outages],
                "accounts": sorted(self.accounts),
            }

    def log_page(self, since: int, limit: int) -> tuple[int, list[LogEntry]]:
        """The log's length and up to ``limit`` entries from index ``since``."""
        with self._lock:
            return len(self.log), self.log[since:since + limit]

    def report(self, now_s: float) -> dict[str, Any]:
        """The report of :func:`~governor.mock.report.build_report` over the log so far."""
        with self._lock:
            entries = list(self.log)
            info = self.accounts.describe()
        return build_report(
            entries, now_s=now_s, provider=self.profile.name, window=self.window,
            time_scale=self.scale.time_scale, accounts=info,
        )

    def __repr__(self) -> str:
        return (
            f"MockRules({self.profile.name!r}, window={self.window!r}, "
            f"accounts={len(self.accounts)}, requests={len(self.log)})"
        )


def _json(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None
