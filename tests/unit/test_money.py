"""Amounts at the boundary: exact decimal strings in, integer cents inside, nothing inexact."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernel.money import InvalidAmount, cents_from_text, format_cents, parse_amount


@pytest.mark.parametrize(
    ("given_value", "cents"),
    [
        ("12.50", 1250),
        ("0.01", 1),
        ("7", 700),
        (7, 700),
        (Decimal("3.1"), 310),
        ("12.500", 1250),
    ],
)
def test_parses_exact_amounts(given_value: object, cents: int) -> None:
    assert parse_amount(given_value) == cents


@pytest.mark.parametrize(
    "bad",
    [
        "0",
        "-1",
        "0.00",
        "1.001",
        "abc",
        "",
        " 5.00 ",  # text is exact: no padding,
        "1E+2",  # no exponent,
        "\uff15.00",  # and ASCII digits only (Decimal takes any script's)
        "NaN",
        "Infinity",
        "-Infinity",
        "1e-1000",
        None,
        True,
        1.5,
        [],
        {},
        "12,50",
    ],
)
def test_refuses_inexact_or_nonpositive_amounts(bad: object) -> None:
    with pytest.raises(InvalidAmount):
        parse_amount(bad)


def test_refuses_amounts_above_the_maximum() -> None:
    assert parse_amount("100.00", max_cents=10000) == 10000
    with pytest.raises(InvalidAmount, match=r"at most 100\.00"):
        parse_amount("100.01", max_cents=10000)


@pytest.mark.parametrize(
    ("cents", "text"), [(0, "0.00"), (5, "0.05"), (1250, "12.50"), (-5, "-0.05")]
)
def test_formats_cents_as_two_decimals(cents: int, text: str) -> None:
    assert format_cents(cents) == text


@given(st.integers(min_value=1, max_value=10**14))
def test_format_then_parse_is_the_identity(cents: int) -> None:
    assert parse_amount(format_cents(cents), max_cents=10**14) == cents


@given(st.integers(min_value=-(10**14), max_value=10**14))
def test_cents_from_text_inverts_format_cents(cents: int) -> None:
    assert cents_from_text(format_cents(cents)) == cents
