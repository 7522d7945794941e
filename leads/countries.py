"""Countries: stored as ISO 3166-1 alpha-2 codes ("DE"), typed by people in any of many
languages ("Deutschland", "Allemagne", "UK", "usa"), shown in the viewer's language.

Names come from Unicode CLDR through Babel, so they stay current with the library; the
lookup table is built once per process (about a quarter of a second) and then costs a
dictionary look-up per distinct value.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from babel import Locale, UnknownLocaleError

# CLDR's territories that are not ISO 3166-1 countries (regions, unions, pseudo-locales,
# places ISO counts under another code).
_NOT_COUNTRIES = frozenset(
    {"AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA", "XB", "ZZ"}
)
# Languages whose country names are recognised when typed (English first: a name that
# means two countries in two languages goes to the English one).
LANGUAGES = (
    "en", "de", "fr", "es", "it", "nl", "pt", "sv", "da", "nb", "fi", "pl", "cs", "sk",
    "hu", "ro", "tr", "ru", "uk", "el", "ja", "zh", "ko", "ar", "he", "hi", "id", "vi",
    "th", "bg", "hr", "sl", "sr", "lt", "lv", "et", "ca", "ga", "is", "ms",
)  # fmt: skip
# What people write that is no country's name in any language: short forms, old names,
# three-letter codes seen in exports, a country's best-known part.
ALIASES = {
    "usa": "US", "u.s.": "US", "u.s.a.": "US", "united states of america": "US",
    "america": "US", "uk": "GB", "u.k.": "GB", "england": "GB", "scotland": "GB",
    "wales": "GB", "northern ireland": "GB", "great britain": "GB", "britain": "GB",
    "holland": "NL", "the netherlands": "NL", "uae": "AE", "south korea": "KR",
    "korea": "KR", "russia": "RU", "czech republic": "CZ", "turkey": "TR",
    "deu": "DE", "gbr": "GB", "fra": "FR", "esp": "ES", "ita": "IT", "nld": "NL",
    "che": "CH", "aut": "AT", "bel": "BE", "can": "CA", "aus": "AU", "bra": "BR",
    "ind": "IN", "jpn": "JP", "chn": "CN", "mex": "MX", "swe": "SE", "nor": "NO",
    "dnk": "DK", "fin": "FI", "pol": "PL", "prt": "PT", "irl": "IE",
}  # fmt: skip


def _fold(text: str) -> str:
    """Lower case, no accents, letters and digits only: "Côte d’Ivoire" → "cote d ivoire"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(re.sub(r"[^\w]+", " ", plain).replace("_", " ").split())


@cache
def country_codes() -> frozenset[str]:
    """Every ISO 3166-1 alpha-2 code Leadloop knows."""
    return frozenset(
        str(code)
        for code in Locale("en").territories
        if len(str(code)) == 2 and str(code).isalpha() and code not in _NOT_COUNTRIES
    )


@cache
def _codes_by_name() -> dict[str, str]:
    codes = country_codes()
    table: dict[str, str] = {}
    for language in LANGUAGES:
        for code, name in Locale(language).territories.items():
            if code in codes:
                table.setdefault(_fold(name), code)
    for alias, code in ALIASES.items():
        table[_fold(alias)] = code
    return table


def country_code(text: str) -> str | None:
    """The ISO code of a country as people type it (a code, a name in one of LANGUAGES,
    a common short form), or None when it is not recognised."""
    stripped = text.strip()
    if not stripped:
        return None
    if stripped.upper() in country_codes():
        return stripped.upper()
    return _codes_by_name().get(_fold(stripped))


@cache
def _names(language: str) -> dict[str, str]:
    try:
        locale = Locale.parse(language.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        locale = Locale("en")
    english = Locale("en").territories
    return {code: locale.territories.get(code) or english[code] for code in country_codes()}


def country_name(code: str, language: str = "en") -> str:
    """The country's name in `language` (English where CLDR lacks it); a value that is
    not a code (a legacy free-text country) is shown as it is."""
    return _names(language).get(code, code)


def country_choices(language: str = "en") -> list[tuple[str, str]]:
    """(code, name) of every country, sorted by name in `language`, for a select."""
    names = _names(language)
    return sorted(names.items(), key=lambda item: _fold(item[1]))
