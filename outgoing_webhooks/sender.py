"""One POST of a delivery, over httpx: the only code here that touches the network.

A short timeout (LEADLOOP_WEBHOOK_TIMEOUT_SECONDS), no redirects followed (a receiver
that moved says so with a 3xx, logged as a failure naming the new place: an admin
changes the URL, rather than Leadloop posting lead data wherever it is pointed), and
only http(s) URLs. Unless LEADLOOP_WEBHOOK_ALLOW_PRIVATE is on, a host that resolves to
a loopback, private or link-local address is refused, so a subscription cannot make
Leadloop call the services inside its own network (cloud metadata, admin ports).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from django.conf import settings

from .rules import private_address, url_problem

USER_AGENT = "Leadloop-Webhooks/1"


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to. `is_final` says retrying cannot help (a refused URL)."""

    status_code: int | None = None
    error: str = ""
    is_final: bool = False


def _refusal(url: str) -> str | None:
    if problem := url_problem(url):
        return f"refused: the URL {problem}"
    if settings.LEADLOOP_WEBHOOK_ALLOW_PRIVATE:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        infos = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as error:
        raise ConnectionError(f"cannot resolve {host}: {error}") from error
    if found := private_address(str(info[4][0]) for info in infos):
        return (
            f"refused: {host} is the private address {found}"
            " (set LEADLOOP_WEBHOOK_ALLOW_PRIVATE=1 to allow receivers inside your network)"
        )
    return None


def post(url: str, body: bytes, headers: dict[str, str]) -> Outcome:
    """POST `body` to `url`: the status code, or why there is none."""
    try:
        if refusal := _refusal(url):
            return Outcome(error=refusal, is_final=True)
    except ConnectionError as error:
        return Outcome(error=str(error)[:500])
    try:
        with (
            httpx.Client(
                timeout=settings.LEADLOOP_WEBHOOK_TIMEOUT_SECONDS,
                follow_redirects=False,
                headers={"User-Agent": USER_AGENT},
            ) as client,
            client.stream("POST", url, content=body, headers=headers) as response,
        ):
            code = response.status_code
            # Only the start of what a receiver answers is kept for the log: a receiver
            # sending a huge (or endless) body cannot fill a worker's memory.
            text = b"" if 200 <= code < 400 else _start_of(response)
            where = response.headers.get("location", "?")
    except httpx.TimeoutException:
        return Outcome(error=f"no answer within {settings.LEADLOOP_WEBHOOK_TIMEOUT_SECONDS} s")
    except httpx.HTTPError as error:
        return Outcome(error=f"{type(error).__name__}: {error}"[:500])
    if 200 <= code < 300:
        return Outcome(status_code=code)
    if 300 <= code < 400:
        return Outcome(
            status_code=code,
            error=f"redirected to {where}: redirects are not followed, change the URL"[:500],
        )
    said = " ".join(text.decode("utf-8", "replace").split())[:200]
    return Outcome(status_code=code, error=f"HTTP {code}{': ' + said if said else ''}"[:500])


def _start_of(response: httpx.Response, limit: int = 1000) -> bytes:
    start = b""
    for chunk in response.iter_bytes():
        start += chunk
        if len(start) >= limit:
            break
    return start[:limit]
