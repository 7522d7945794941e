"""Signed, unguessable tokens for the links a stranger follows from an email: the open
pixel, click redirects, one-click unsubscribe and the preference page.

A token names one message (its primary key) and what it is for; it is signed with
SECRET_KEY (Django's `signing`, HMAC-SHA256, a salt per kind), so a token for one kind is
refused for another and an altered one is refused outright. A click token also carries the
link it redirects to, so the redirect can never be pointed elsewhere.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import zlib
from functools import lru_cache
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
    """The token for `kind` on message `message_pk` (and `url`, for a click): what
    `_signer(kind).sign_object(value, compress=True)` makes (test-checked), from a keyed
    HMAC prepared once per kind and key: a message signs four links when it is queued,
    and Django derives the key anew for every signature."""
    if kind not in KINDS:
        raise ValueError(f"unknown token kind {kind!r}")
    # json.dumps([message_pk, url], separators=(",", ":")), written out.
    text = f"[{int(message_pk)},{json.dumps(url)}]" if kind == "click" else f"[{int(message_pk)}]"
    data = text.encode("latin-1")
    prefix = ""
    # zlib adds 8 bytes to anything: it can only win on more than 10 (sign_object's rule).
    if len(data) > 10:
        compressed = zlib.compress(data)
        if len(compressed) < len(data) - 1:
            data, prefix = compressed, "."
    payload = prefix + base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    mac = _mac_for(kind, settings.SECRET_KEY).copy()
    mac.update(payload.encode())
    return f"{payload}:{base64.urlsafe_b64encode(mac.digest()).rstrip(b'=').decode()}"


@lru_cache(maxsize=32)
def _mac_for(kind: str, secret: str) -> hmac.HMAC:
    """Django's salted HMAC for the Signer of `kind`, keyed and not yet fed: the salt is
    the signer's salt + "signer", the key SHA-256 of that salt and the secret."""
    salt = f"leadloop.nurture.{kind}signer"
    key = hashlib.sha256(salt.encode() + secret.encode()).digest()
    return hmac.new(key, digestmod=hashlib.sha256)


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


_PATHS = {
    "open": "/t/o/{}.gif",
    "click": "/t/c/{}",
    "unsubscribe": "/unsubscribe/{}",
    "preferences": "/preferences/{}",
}


def link(kind: str, message_pk: int, *, url: str | None = None, base: str | None = None) -> str:
    """The absolute address (`base`, default LEADLOOP_BASE_URL) of a public endpoint for
    `kind`.

    open → /t/o/<token>.gif, click → /t/c/<token>, unsubscribe → /unsubscribe/<token>
    (RFC 8058 one-click: POST; GET shows a confirmation), preferences → /preferences/<token>.
    """
    token = quote(make(kind, message_pk, url=url), safe=":-_")
    root = (base if base is not None else settings.LEADLOOP_BASE_URL).rstrip("/")
    return root + _PATHS[kind].format(token)
