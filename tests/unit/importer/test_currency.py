import datetime as dt
from decimal import Decimal

from bridge.domain.currency import BaseCurrencyConverter

D = dt.date


class Table:
    """Rates per EUR on given days only (a fake ECB table)."""

    reference = "EUR"

    def __init__(self, rates):
        self.rates = rates

    def rate_on(self, currency, day):
        if currency == "EUR":
            return Decimal(1)
        return self.rates.get(currency, {}).get(day)

    def last_day(self, currency):
        if currency == "EUR":
            return None
        days = self.rates.get(currency)
        return max(days) if days else None


TABLE = Table(
    {
        "USD": {D(2024, 5, 3): Decimal("1.0795"), D(2024, 5, 6): Decimal("1.0772")},
        "GBP": {D(2024, 5, 3): Decimal("0.8590"), D(2024, 5, 6): Decimal("0.8578")},
    }
)


def test_same_currency_is_identity_with_provenance():
    conv = BaseCurrencyConverter("EUR", TABLE).conversion("EUR", D(2024, 5, 4))
    assert conv.rate == 1 and conv.source == "identity" and conv.rate_date == D(2024, 5, 4)
    assert conv.apply(Decimal("12.34")) == Decimal("12.34")


def test_weekend_takes_last_known_rate_before_the_date():
    conv = BaseCurrencyConverter("EUR", TABLE, source="test").conversion("USD", D(2024, 5, 5))
    assert conv.rate_date == D(2024, 5, 3)
    assert conv.rate == (Decimal(1) / Decimal("1.0795")).quantize(Decimal("1E-10"))
    assert conv.apply(Decimal("107.95")) == Decimal("100.00")
    assert conv.source == "test" and conv.missing_reason is None


def test_cross_rate_between_two_non_euro_currencies():
    conv = BaseCurrencyConverter("GBP", TABLE).conversion("USD", D(2024, 5, 6))
    assert conv.rate == (Decimal("0.8578") / Decimal("1.0772")).quantize(Decimal("1E-10"))
    assert conv.rate_date == D(2024, 5, 6)


def test_date_after_the_shipped_data_uses_its_last_rate():
    conv = BaseCurrencyConverter("EUR", TABLE).conversion("USD", D(2026, 11, 21))
    assert conv.rate_date == D(2024, 5, 6)


def test_unknown_currency_is_flagged_never_guessed():
    conv = BaseCurrencyConverter("EUR", TABLE).conversion("XOF", D(2024, 5, 6))
    assert not conv.ok and conv.rate is None and conv.apply(Decimal(10)) is None
    assert "XOF" in conv.missing_reason


def test_date_before_any_rate_is_flagged():
    conv = BaseCurrencyConverter("EUR", TABLE).conversion("USD", D(2024, 5, 1))
    assert conv.rate is None and conv.missing_reason


def test_real_ecb_data_saturday_uses_friday():
    conv = BaseCurrencyConverter("EUR").conversion("USD", D(2024, 5, 4))
    assert conv.rate_date == D(2024, 5, 3)
    assert conv.rate is not None and Decimal("0.8") < conv.rate < Decimal("1.0")
    assert "ECB" in conv.source
