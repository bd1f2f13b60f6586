"""Routes: which scopes a call spends from, found from its method and path. Pure.

A route text is ``"METHOD /path"`` (``"POST /v1/email"``), a full URL in place of the path
(``"POST https://api.mailersend.com/v1/email?x=1"``), or a bare word for a non-HTTP channel
(``"SMTP"``); ``"*"`` alone is any method and path (the catch-all). A text that does not start
with a method (``"/v1/email"``, a bare URL) is refused, never taken for the catch-all. Patterns
match path segments: a literal, ``*`` or ``{name}`` for exactly one segment, and a trailing
``**`` for any rest (including none). Method ``*`` matches any method. The first route that
matches wins, so a profile lists specific routes before catch-alls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from governor.errors import UnknownRoute

__all__ = ["Route", "Router", "split_route"]

_METHOD = re.compile(r"\*|[A-Za-z][A-Za-z0-9_-]*")


@dataclass(frozen=True, slots=True)
class Route:
    """A method and path pattern, the buckets a matching call spends, and whether it counts
    against the daily quota."""

    method: str
    pattern: str
    buckets: tuple[str, ...]
    quota: bool = True

    @property
    def name(self) -> str:
        """The route as written in a profile: ``"POST /v1/email"``."""
        return f"{self.method} {self.pattern}" if self.pattern else self.method

    def compile(self) -> re.Pattern[str]:
        """The regular expression for this route's path pattern."""
        parts = []
        segments = self.pattern.strip("/").split("/") if self.pattern.strip("/") else []
        for i, seg in enumerate(segments):
            if seg == "**":
                if i != len(segments) - 1:
                    raise ValueError(f"'**' may only end a route pattern, as in '/v1/**': {self}")
                parts.append("(?:/.*)?")
            elif seg == "*" or (seg.startswith("{") and seg.endswith("}")):
                parts.append("/[^/]+")
            else:
                parts.append("/" + re.escape(seg))
        return re.compile("".join(parts) + "/?" if parts else "/?")


def split_route(text: str) -> tuple[str, str]:
    """Split ``"POST /v1/email"`` into ``("POST", "/v1/email")``; URLs lose host and query.

    Raises :class:`UnknownRoute` when the text does not start with a method (a word, or
    ``*``): ``"/v1/email"`` names no method, and would otherwise match only catch-alls."""
    method, _, target = text.strip().partition(" ")
    if not _METHOD.fullmatch(method):
        raise UnknownRoute(
            f"route {text!r} does not start with a method: write 'METHOD /path', as in "
            "'POST /v1/email' ('*' for any method, a bare word such as 'SMTP' for a channel)"
        )
    target = target.strip()
    if "://" in target:
        target = urlsplit(target).path or "/"
    else:
        target = target.split("?", 1)[0].split("#", 1)[0]
    if target and not target.startswith("/"):
        target = "/" + target
    return method.upper(), target


class Router:
    """Finds the route of a call. Lookups of the same text are cached."""

    def __init__(self, routes: list[Route] | tuple[Route, ...]) -> None:
        self.routes = tuple(routes)
        self._compiled = [(r, r.method.upper(), r.compile()) for r in self.routes]
        self._cache: dict[str, Route] = {}

    def match(self, method: str, path: str) -> Route:
        """The first route matching ``method`` and ``path``; raises :class:`UnknownRoute`."""
        method = method.upper()
        for route, r_method, regex in self._compiled:
            if r_method not in ("*", method):
                continue
            if route.pattern == "" and path in ("", "/"):
                return route
            if route.pattern and regex.fullmatch(path or "/"):
                return route
        known = ", ".join(r.name for r in self.routes)
        raise UnknownRoute(
            f"no route matches {method} {path or ''}".rstrip()
            + f"; the profile's routes are: {known}. Add a catch-all such as '* /**'."
        )

    def resolve(self, text: str) -> Route:
        """The route of a call written as ``"METHOD /path"`` (cached)."""
        route = self._cache.get(text)
        if route is None:
            route = self.match(*split_route(text))
            if len(self._cache) < 4096:
                self._cache[text] = route
        return route

    def __repr__(self) -> str:
        return f"Router({[r.name for r in self.routes]})"
