"""Values written to files people open in a spreadsheet (CSV exports, import rejects).

A cell starting with =, +, -, @, a tab or a carriage return is run as a formula by Excel,
LibreOffice and Google Sheets ("CSV injection"): `=HYPERLINK("http://evil", "click")`
in a lead's name must reach the user as text. Every export neutralises such a cell by
prefixing a single quote, which the spreadsheet shows as text and does not display.
"""

from __future__ import annotations

from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """The value, made inert if a spreadsheet would read it as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def safe_cells(values: list[Any]) -> list[Any]:
    return [safe_cell(value) for value in values]
