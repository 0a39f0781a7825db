"""Money at the boundary: decimal strings outside, integer minor units (cents) inside."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

CENTS_PER_UNIT = 100
DEFAULT_MAX_CENTS = 1_000_000_000_00
_DECIMAL_TEXT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")  # ASCII digits, no sign but minus, no exponent


class InvalidAmount(ValueError):
    """An amount that is not a positive number of at most two decimals within the maximum."""


def parse_amount(value: object, *, max_cents: int = DEFAULT_MAX_CENTS) -> int:
    """Turn "12.50", 12.5 as a JSON number, or 12 into 1250 cents; refuse anything inexact.

    Floats are refused: a JSON number reaches us as a float only when the parser made it one,
    and "0.1 + 0.2" is exactly the kind of money bug this project exists to avoid. Parse JSON
    with ``parse_float=Decimal`` (the API does) and numbers arrive here as ``Decimal``.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise InvalidAmount('Amount must be a decimal string such as "12.50".')
    if isinstance(value, str) and not _DECIMAL_TEXT.fullmatch(value):
        # Decimal() alone would take " 12.50", "1e3", and digits of any script.
        raise InvalidAmount(f'{value[:40]!r} is not a decimal string such as "12.50".')
    try:
        amount = Decimal(value)
    except (InvalidOperation, ValueError):
        raise InvalidAmount(f"{str(value)[:40]!r} is not a number.") from None
    if not amount.is_finite():
        raise InvalidAmount("Amount must be a finite number.")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2 and amount != amount.quantize(Decimal("0.01")):
        raise InvalidAmount("Amount may have at most two decimal places.")
    if amount <= 0:
        raise InvalidAmount("Amount must be greater than zero.")
    cents = int(amount * CENTS_PER_UNIT)
    if cents > max_cents:
        raise InvalidAmount(f"Amount may be at most {format_cents(max_cents)}.")
    return cents


def cents_from_text(text: str) -> int:
    """ "12.50" -> 1250, "-0.05" -> -5: the exact inverse of ``format_cents`` (for trusted text,
    such as the amounts in published events; ``parse_amount`` is for input)."""
    return int(Decimal(text) * CENTS_PER_UNIT)


def format_cents(cents: int) -> str:
    """1250 -> "12.50"; -5 -> "-0.05". Exact: integer arithmetic only."""
    sign = "-" if cents < 0 else ""
    units, rest = divmod(abs(cents), CENTS_PER_UNIT)
    return f"{sign}{units}.{rest:02d}"
