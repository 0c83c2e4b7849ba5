"""What keeps the board safe on a shared machine: every request is checked before it
reaches a page.

- **DNS rebinding**: a page on another site may make its own host name resolve to
  127.0.0.1 and then read the board as "same origin". Its requests still carry its host
  name in `Host`, so a board bound to loopback answers only `Host: 127.0.0.1:PORT`,
  `localhost:PORT` or `[::1]:PORT`.
- **CSRF**: another site's page may post to the board. A browser names the page's origin
  in `Origin` on every write, so a write whose `Origin` is not the board's own is refused;
  a write must also be JSON, which a plain HTML form cannot send.
- **Other people**: every request needs the token of the URL `orch ui` prints (and
  opens): another user of the same machine, or another process, can reach loopback too.
  The first page sets it as a cookie (HttpOnly, SameSite=Strict, named with the port, so
  two boards on one machine keep theirs) for the page's own requests. Served beyond
  loopback (`--host 0.0.0.0`), the Host check is off (other machines name it by any
  address) and the token alone keeps others out.
"""

from __future__ import annotations

import json
import secrets
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs

COOKIE = "orch_ui_token_{port}"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
READS = ("GET", "HEAD")


def loopback_hosts(host: str, port: int) -> set[str]:
    """The `Host` values a browser sends to a board on loopback at `host`:`port`."""
    named = f"[{host}]" if ":" in host else host
    return {f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", f"{named}:{port}"}


class Guard:
    """ASGI middleware: refuses a foreign Host (when `hosts` is given), a foreign Origin
    on a write, a write that is not JSON, and (when `token` is given) any request
    without the token, in its query or its cookie."""

    def __init__(self, app: Any, hosts: set[str] | None, token: str | None, port: int):
        self.app, self.hosts, self.token = app, hosts, token
        self.cookie = COOKIE.format(port=port)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":  # the board has none: refused, not passed on
            return await send({"type": "websocket.close", "code": 1008})
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "").lower()
        refusal = self.refusal(scope, headers, host)
        if refusal is not None:
            return await _refuse(send, *refusal)
        given = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [""])[0]
        if self.token and given and secrets.compare_digest(given, self.token):
            # The URL's token becomes the page's cookie: its own requests carry it.
            async def with_cookie(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    cookie = f"{self.cookie}={self.token}; Path=/; HttpOnly; SameSite=Strict"
                    message["headers"] = [*message.get("headers", []),
                                          (b"set-cookie", cookie.encode())]  # fmt: skip
                await send(message)

            return await self.app(scope, receive, with_cookie)
        return await self.app(scope, receive, send)

    def refusal(
        self, scope: dict[str, Any], headers: dict[str, str], host: str
    ) -> tuple[int, str] | None:
        """Why a request is refused (status and message), or None."""
        if self.hosts is not None and host not in self.hosts:
            return 403, (
                f"refused: this board answers requests for {', '.join(sorted(self.hosts))},"
                f" not for Host {host or '(none)'!r} (a page of another site reaching it"
                " through its own name: DNS rebinding)"
            )
        if self.token and not self._token_given(scope, headers):
            return 401, (
                "refused: this board needs its token; open the URL `orch ui` printed (it"
                " ends in ?token=…)"
            )
        if scope["method"] not in READS:
            origin = headers.get("origin")
            if origin is not None and origin.lower() not in (f"http://{host}", f"https://{host}"):
                return 403, (
                    f"refused: a write from another site ({origin}); the board takes writes"
                    " from its own pages only"
                )
            kind = headers.get("content-type", "").split(";")[0].strip().lower()
            if kind != "application/json":
                return 415, "refused: a write to the board is JSON (Content-Type: application/json)"
        return None

    def _token_given(self, scope: dict[str, Any], headers: dict[str, str]) -> bool:
        assert self.token is not None
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        given = query.get("token", [""])[0]
        if not given:
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(headers.get("cookie", ""))
            except Exception:  # a malformed cookie header is no token
                return False
            given = jar[self.cookie].value if self.cookie in jar else ""
        return bool(given) and secrets.compare_digest(given, self.token)


async def _refuse(send: Any, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})
