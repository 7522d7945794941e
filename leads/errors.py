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
