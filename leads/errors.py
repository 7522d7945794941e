"""Bad input, said the same way by every door (API, forms, imports, webhooks)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError(Exception):
    """Bad input, naming the field (and row, for imports) and what is wrong."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class NotPermitted(FieldError):
    """The person's role (or scope) does not let them make this change: the API answers
    403, a page shows the message."""
