import datetime as dt
from decimal import Decimal

import pytest

from bridge.domain.currency import BaseCurrencyConverter, EcbHistory, business_days_between, window_start
from tests.fixtures.ecb import ecb_history_zip, publication_days

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
        if currency == "EUR":  # the table's last day
            return max((day for days in self.rates.values() for day in days), default=None)
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


def test_document_after_the_table_uses_its_last_rate_and_says_it_is_stale():
    # The table ends Monday 2024-05-06; a document of Monday 2024-05-20 is 10 business days later.
    conv = BaseCurrencyConverter("EUR", TABLE).conversion("USD", D(2024, 5, 20))
    assert conv.rate_date == D(2024, 5, 6) and conv.ok
    assert conv.stale_days == 10
    assert conv.apply(Decimal("107.72")) == Decimal("100.00")


def test_four_business_days_after_the_table_is_not_stale_five_is():
    # 2024-05-06 (Mon) + 4 business days = Fri 2024-05-10; + 5 = Mon 2024-05-13 (the weekend does not count).
    assert BaseCurrencyConverter("EUR", TABLE).conversion("USD", D(2024, 5, 10)).stale_days is None
    assert BaseCurrencyConverter("EUR", TABLE).conversion("USD", D(2024, 5, 12)).stale_days is None
    assert BaseCurrencyConverter("EUR", TABLE).conversion("USD", D(2024, 5, 13)).stale_days == 5


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


def test_business_days_count_monday_to_friday_after_the_first_day():
    assert business_days_between(D(2024, 5, 3), D(2024, 5, 3)) == 0  # same day
    assert business_days_between(D(2024, 5, 3), D(2024, 5, 5)) == 0  # Friday -> Sunday
    assert business_days_between(D(2024, 5, 3), D(2024, 5, 6)) == 1  # Friday -> Monday
    assert business_days_between(D(2024, 5, 6), D(2024, 5, 20)) == 10
    assert business_days_between(D(2024, 5, 6), D(2024, 5, 1)) == 0  # not after
    assert window_start(D(2024, 5, 6)) == D(2024, 4, 30)  # Monday: back to the Tuesday before
    assert window_start(D(2024, 5, 10)) == D(2024, 5, 6)  # Friday: back to Monday


# A currency that stopped (like RUB in March 2022) while the others go on.
ENDED = Table(
    {
        "USD": {day: Decimal("1.08") for day in publication_days(D(2024, 4, 1), D(2024, 5, 31))},
        "RUB": {day: Decimal("99.5") for day in publication_days(D(2024, 4, 1), D(2024, 5, 6))},
    }
)


@pytest.mark.parametrize(
    ("day", "rate_day"),
    [
        (D(2024, 5, 6), D(2024, 5, 6)),  # its last day
        (D(2024, 5, 10), D(2024, 5, 6)),  # 4 business days later: still within the window
    ],
)
def test_a_currency_is_converted_within_four_business_days_of_its_last_rate(day, rate_day):
    conv = BaseCurrencyConverter("EUR", ENDED).conversion("RUB", day)
    assert conv.rate_date == rate_day and conv.stale_days is None and conv.missing_reason is None


@pytest.mark.parametrize("day", [D(2024, 5, 13), D(2024, 5, 31), D(2024, 12, 1)])
def test_a_discontinued_currency_is_missing_never_converted_at_an_old_rate(day):
    conv = BaseCurrencyConverter("EUR", ENDED).conversion("RUB", day)
    assert conv.rate is None and conv.rate_date is None and conv.apply(Decimal(10)) is None
    assert conv.stale_days is None
    assert "within 4 business days" in conv.missing_reason and "RUB last published 2024-05-06" in conv.missing_reason


def test_a_discontinued_base_currency_is_missing_too():
    conv = BaseCurrencyConverter("RUB", ENDED).conversion("USD", D(2024, 5, 20))
    assert conv.rate is None and "RUB last published 2024-05-06" in conv.missing_reason


def test_the_shipped_file_flags_rub_and_hrk_and_keeps_their_last_real_days():
    converter = BaseCurrencyConverter("EUR")
    assert converter.conversion("RUB", D(2022, 3, 1)).rate_date == D(2022, 3, 1)
    assert converter.conversion("HRK", D(2022, 12, 30)).rate_date == D(2022, 12, 30)
    for currency, day in (("RUB", D(2024, 5, 6)), ("HRK", D(2023, 6, 1)), ("RUB", D(2022, 3, 14))):
        conv = converter.conversion(currency, day)
        assert conv.rate is None and f"{currency} last published" in conv.missing_reason, (currency, day)


def test_a_day_missing_from_an_ecb_file_converts_at_the_day_before_with_the_file_s_source(tmp_path):
    days = publication_days(D(2024, 5, 1), D(2024, 5, 10))
    rates = {
        day: {"USD": Decimal("1.0800") + Decimal(n) / 1000, "GBP": Decimal("0.8500")} for n, day in enumerate(days)
    }
    rates[D(2024, 5, 8)].pop("GBP")  # N/A that day
    path = tmp_path / "eurofxref-hist.zip"
    path.write_bytes(ecb_history_zip(rates))
    table = EcbHistory(str(path), source="generated")  # reading itself: tests/unit/importer/test_ecb_history.py
    conv = BaseCurrencyConverter("EUR", table).conversion("GBP", D(2024, 5, 8))
    assert conv.rate_date == D(2024, 5, 7) and conv.source == "generated"
