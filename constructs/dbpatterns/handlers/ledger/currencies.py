"""The currencies the ledger accepts and the exponent of each one's minor unit.

Amounts are stored as integers in minor units, so an amount means nothing without its currency's
exponent: 1000 is ten euros (two decimals), a thousand yen (none) or one Bahraini dinar (three).
Anything that compares an amount with a limit given in major units goes through
``to_minor_units``.

Source: ISO 4217, "List One: Current currency & funds code list", column "Minor unit", as
published by SIX Financial Information AG, the ISO 4217 maintenance agency
(https://www.six-group.com/en/products-services/financial-information/market-reference-data/data-standards.html).
Only currencies whose minor unit is a power of ten may be listed here.

This module imports only the standard library: CDK code may import it too.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

MINOR_UNIT_EXPONENTS: Final[Mapping[str, int]] = MappingProxyType(
    {
        "AUD": 2,  # Australian dollar
        "BHD": 3,  # Bahraini dinar (1000 fils)
        "CAD": 2,  # Canadian dollar
        "CHF": 2,  # Swiss franc
        "EUR": 2,  # euro
        "GBP": 2,  # pound sterling
        "JPY": 0,  # yen: no minor unit
        "KWD": 3,  # Kuwaiti dinar (1000 fils)
        "NOK": 2,  # Norwegian krone
        "SEK": 2,  # Swedish krona
        "USD": 2,  # US dollar
    }
)
"""ISO 4217 code -> number of decimal places of the minor unit."""


def minor_unit_exponent(currency: str) -> int:
    """The exponent of ``currency``'s minor unit; KeyError for a currency the ledger does not accept."""
    return MINOR_UNIT_EXPONENTS[currency]


def to_minor_units(major: int, currency: str) -> int:
    """``major`` whole units of ``currency`` in its minor units (1000 EUR -> 100000)."""
    return major * int(10 ** minor_unit_exponent(currency))
