"""Signed, unguessable tokens for the links a stranger follows from an email: the open
pixel, click redirects, one-click unsubscribe and the preference page.

A token names one message (its primary key) and what it is for; it is signed with
SECRET_KEY (Django's `signing`, HMAC-SHA256, a salt per kind), so a token for one kind is
refused for another and an altered one is refused outright. A click token also carries the
link it redirects to, so the redirect can never be pointed elsewhere.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core import signing

KINDS = ("open", "click", "unsubscribe", "preferences")


class BadToken(Exception):
    """A token that was forged, altered, truncated or made for another kind."""


def _signer(kind: str) -> signing.Signer:
    if kind not in KINDS:
        raise ValueError(f"unknown token kind {kind!r}")
    return _signer_for(kind, settings.SECRET_KEY, tuple(settings.SECRET_KEY_FALLBACKS))


@lru_cache(maxsize=32)
def _signer_for(kind: str, secret: str, fallbacks: tuple[str, ...]) -> signing.Signer:
    """One Signer per kind and keys (a message signs four links; the keys are part of the
    cache key, so a changed SECRET_KEY is never signed with the old one)."""
    return signing.Signer(
        key=secret, fallback_keys=list(fallbacks), salt=f"leadloop.nurture.{kind}",
        algorithm="sha256",
    )  # fmt: skip


def make(kind: str, message_pk: int, *, url: str | None = None) -> str:
    """The token for `kind` on message `message_pk` (and `url`, for a click)."""
    value: Any = [message_pk, url] if kind == "click" else [message_pk]
    return _signer(kind).sign_object(value, compress=True)


def read(kind: str, token: str) -> tuple[int, str | None]:
    """(message pk, url or None) from a token of `kind`; BadToken if it is not genuine."""
    try:
        value = _signer(kind).unsign_object(token)
    except (signing.BadSignature, ValueError, TypeError, UnicodeDecodeError) as error:
        raise BadToken(str(error)) from None
    if not isinstance(value, list) or not value or not isinstance(value[0], int):
        raise BadToken("malformed token")
    url = value[1] if len(value) > 1 and isinstance(value[1], str) else None
    return value[0], url


def link(kind: str, message_pk: int, *, url: str | None = None) -> str:
    """The absolute address (LEADLOOP_BASE_URL) of a public endpoint for `kind`.

    open → /t/o/<token>.gif, click → /t/c/<token>, unsubscribe → /unsubscribe/<token>
    (RFC 8058 one-click: POST; GET shows a confirmation), preferences → /preferences/<token>.
    """
    token = quote(make(kind, message_pk, url=url), safe=":-_")
    base = settings.LEADLOOP_BASE_URL.rstrip("/")
    path = {
        "open": f"/t/o/{token}.gif",
        "click": f"/t/c/{token}",
        "unsubscribe": f"/unsubscribe/{token}",
        "preferences": f"/preferences/{token}",
    }[kind]
    return base + path
