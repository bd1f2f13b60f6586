"""``MockAdmin``: a small synchronous client of the mock's ``/_admin`` API (see ``app.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["AdminError", "MockAdmin"]


class AdminError(RuntimeError):
    """The mock refused an admin call; the message has its status and error text."""


class MockAdmin:
    """Configure and read a running mock server over HTTP. Times and durations are virtual."""

    def __init__(self, url: str, *, timeout_s: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self._client = httpx.Client(base_url=self.url + "/_admin", timeout=timeout_s)

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self._client.request(method, path, json=body)
        if response.status_code >= 400:
            try:
                detail = response.json().get("error", response.text)
            except ValueError:
                detail = response.text
            raise AdminError(f"{method} /_admin{path}: {response.status_code} {detail}")
        return response.json() if response.content else None

    def add_account(
        self,
        name: str,
        token: str | list[str],
        *,
        plan: str | None = None,
        reputation: str | None = None,
        email_quota: int | None = None,
    ) -> dict[str, Any]:
        """Create an account with one token or several; returns the account."""
        tokens = [token] if isinstance(token, str) else token
        body = {"name": name, "tokens": tokens, "plan": plan, "reputation": reputation,
                "email_quota": email_quota}
        result: dict[str, Any] = self._call("POST", "/accounts", body)
        return result

    def configure(self, name: str, **changes: Any) -> dict[str, Any]:
        """Change ``plan``, ``reputation`` or ``email_quota`` (None clears it) of an account."""
        result: dict[str, Any] = self._call("PATCH", f"/accounts/{name}", changes)
        return result

    def set_reputation(self, name: str, reputation: str) -> dict[str, Any]:
        """Set an account's reputation, e.g. ``"under_review"`` (10/min on /v1/email)."""
        result: dict[str, Any] = self._call(
            "PUT", f"/accounts/{name}/reputation", {"reputation": reputation}
        )
        return result

    def spend(self, name: str, requests: int) -> dict[str, Any]:
        """Spend ``requests`` of an account's daily quota out of band, as its other senders
        (another token, SMTP) would; returns ``{"requested", "spent", "at", "at_s",
        "real_at_s", "account"}`` (``spent`` is less when the day had no more room)."""
        result: dict[str, Any] = self._call(
            "POST", f"/accounts/{name}/spend", {"requests": requests}
        )
        return result

    def account(self, name: str) -> dict[str, Any]:
        """One account's settings and counters."""
        result: dict[str, Any] = self._call("GET", f"/accounts/{name}")
        return result

    def config(self) -> dict[str, Any]:
        """The server's settings: provider, window, scale, headers, outages, clock, latency."""
        result: dict[str, Any] = self._call("GET", "/config")
        return result

    def clock(self) -> dict[str, Any]:
        """The virtual clock: virtual and real now, scale, offset."""
        result: dict[str, Any] = self._call("GET", "/clock")
        return result

    def jump(
        self,
        *,
        to: str | float | None = None,
        advance_s: float | None = None,
        time_of_day: str | None = None,
    ) -> dict[str, Any]:
        """Move the virtual clock forward: to a time (ISO-8601 or epoch), by some seconds, or to
        the next ``"HH:MM:SS"`` UTC (e.g. ``"23:59:50"`` to cross midnight soon)."""
        given = {"to": to, "advance_s": advance_s, "time_of_day": time_of_day}
        body = {k: v for k, v in given.items() if v is not None}
        if len(body) != 1:
            raise ValueError("give exactly one of to, advance_s, time_of_day")
        result: dict[str, Any] = self._call("POST", "/clock", body)
        return result

    def schedule_outage(
        self, duration_s: float, *, start_in_s: float = 0.0, code: str = "service_unavailable"
    ) -> dict[str, Any]:
        """Answer 503 ``code`` from ``start_in_s`` for ``duration_s`` (virtual seconds)."""
        body = {"start_in_s": start_in_s, "duration_s": duration_s, "code": code}
        result: dict[str, Any] = self._call("POST", "/outages", body)
        return result

    def clear_outages(self) -> None:
        """Cancel every scheduled outage."""
        self._call("DELETE", "/outages")

    def reset(self, *, accounts: bool = False) -> None:
        """Forget the log and all counters (and the accounts, with ``accounts=True``)."""
        self._call("POST", "/reset", {"accounts": accounts})

    def report(self) -> dict[str, Any]:
        """The report computed from the request log."""
        result: dict[str, Any] = self._call("GET", "/report")
        return result

    def log(self, since: int = 0, limit: int = 1000) -> dict[str, Any]:
        """Log entries from index ``since``: ``{"since", "next", "total", "entries"}``."""
        result: dict[str, Any] = self._call("GET", f"/log?since={since}&limit={limit}")
        return result

    def close(self) -> None:
        """Close the HTTP client."""
        self._client.close()

    def __enter__(self) -> MockAdmin:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
