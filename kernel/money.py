"""Money at the boundary: decimal strings outside, integer minor units (cents) inside."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from kernel.errors import DomainError

CENTS_PER_UNIT = 100
DEFAULT_MAX_CENTS = 1_000_000_000_00
_CENT = Decimal("0.01")

# An amount as text: ASCII digits, no sign, no exponent, no leading zero, at most two decimals.
# Its length is bounded by the pattern itself, so no text reaches arithmetic before it is known
# to be small.
_AMOUNT_TEXT = re.compile(r"(?:0|[1-9][0-9]{0,17})(?:\.[0-9]{1,2})?")


class InvalidAmount(DomainError, ValueError):
    """An amount that is not a positive number of at most two decimals within the maximum."""

    code = "invalid"

    @property
    def details(self) -> dict[str, Any]:
        return {"amount": [str(self)]}


def parse_amount(value: object, *, max_cents: int = DEFAULT_MAX_CENTS) -> int:
    """Turn "12.50", 12.5 as a JSON number, or 12 into 1250 cents; refuse anything inexact.

    Floats are refused: a JSON number reaches us as a float only when the parser made it one,
    and "0.1 + 0.2" is exactly the kind of money bug this project exists to avoid. Parse JSON
    with ``parse_float=Decimal`` (the API does) and numbers arrive here as ``Decimal``.

    Every check runs on the value's size before any arithmetic: a client's ``1E+999999`` is a
    few bytes that would take seconds to multiply out, so its magnitude is read from its
    exponent and it is refused as too large without being computed.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise InvalidAmount('Amount must be a decimal string such as "12.50".')
    if isinstance(value, str) and not _AMOUNT_TEXT.fullmatch(value):
        # Decimal() alone would take " 12.50", "1e3", and digits of any script.
        raise InvalidAmount(f'{value[:40]!r} is not a decimal string such as "12.50".')
    if isinstance(value, int) and not 0 < value <= max_cents // CENTS_PER_UNIT:
        # An int may have thousands of digits; compared, never converted.
        raise InvalidAmount(_out_of_range(value > 0, max_cents))
    amount = Decimal(value)
    if not amount.is_finite():
        raise InvalidAmount("Amount must be a finite number.")
    if amount <= 0:
        raise InvalidAmount(_out_of_range(False, max_cents))
    # adjusted() is the power of ten of the leading digit: the magnitude, read without arithmetic.
    if amount.adjusted() > len(str(max_cents)) or amount > Decimal(max_cents).scaleb(-2):
        raise InvalidAmount(_out_of_range(True, max_cents))
    # Now 0 < amount <= the maximum: the cent it rounds to has a few digits, and is exact.
    cent = amount.quantize(_CENT)
    if cent != amount:
        raise InvalidAmount("Amount may have at most two decimal places.")
    return int(cent.scaleb(2))


def _out_of_range(too_large: bool, max_cents: int) -> str:
    if too_large:
        return f"Amount may be at most {format_cents(max_cents)}."
    return "Amount must be greater than zero."


def amount_pattern(max_cents: int = DEFAULT_MAX_CENTS) -> str:
    """The regular expression of exactly the texts ``parse_amount`` takes (for the schema).

    ``max_cents`` must be a whole number of units: the pattern is then every positive amount
    below the maximum's units with any decimals, or the maximum itself."""
    units, rest = divmod(max_cents, CENTS_PER_UNIT)
    if rest or units < 1:
        raise ValueError("The maximum amount must be a whole number of units, at least 1.00.")
    decimals = r"(?:\.[0-9]{1,2})?"
    choices = [r"0\.(?:0[1-9]|[1-9][0-9]?)", rf"{units}(?:\.00?)?"]
    if units > 1:
        choices.insert(1, f"(?:{_whole_numbers_up_to(units - 1)}){decimals}")
    return f"^(?:{'|'.join(choices)})$"


def _whole_numbers_up_to(limit: int) -> str:
    """A pattern for 1..limit without leading zeros: every shorter number, then each number of
    limit's length that follows limit's first digits and is below it at the next one, then
    limit itself (a run of nines to the end takes every digit, so it ends the list)."""
    digits = str(limit)
    width = len(digits)
    choices = [_digits(1, width - 1)] if width > 1 else []
    for at, digit in enumerate(digits):
        lowest, rest = (1 if at == 0 else 0), width - at - 1
        if set(digits[at:]) == {"9"}:
            if at == 0:
                return _digits(1, width)
            return "|".join([*choices, f"{digits[:at]}[0-9]{_any(rest)}"])
        if int(digit) > lowest:
            choices.append(f"{digits[:at]}[{lowest}-{int(digit) - 1}]{_any(rest)}")
    return "|".join([*choices, digits])


def _digits(shortest: int, longest: int) -> str:
    """Numbers of ``shortest`` to ``longest`` digits, without a leading zero."""
    return f"[1-9]{_any(shortest - 1, longest - 1)}"


def _any(count: int, most: int | None = None) -> str:
    if most is None or most == count:
        return "" if count == 0 else f"[0-9]{{{count}}}"
    return f"[0-9]{{{count},{most}}}"


def cents_from_text(text: str) -> int:
    """ "12.50" -> 1250, "-0.05" -> -5: the exact inverse of ``format_cents`` (for trusted text,
    such as the amounts in published events; ``parse_amount`` is for input)."""
    return int(Decimal(text) * CENTS_PER_UNIT)


def format_cents(cents: int) -> str:
    """1250 -> "12.50"; -5 -> "-0.05". Exact: integer arithmetic only."""
    sign = "-" if cents < 0 else ""
    units, rest = divmod(abs(cents), CENTS_PER_UNIT)
    return f"{sign}{units}.{rest:02d}"
