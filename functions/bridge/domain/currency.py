"""Base-currency conversion with provenance (ECB reference rates).

Rules:
- A document is converted at the rate of its date, or of the last ECB publication day before it, but
  only within ``WINDOW_BUSINESS_DAYS`` business days (Monday to Friday) before that date. A currency with no
  rate in that window (discontinued, such as RUB since March 2022 or HRK since the euro in 2023, or never
  published) is flagged missing: never converted at a years-old rate.
- When the document is dated after the last day of the rates file (the file could not be refreshed), the
  window ends on the file's last day instead, and the conversion says how many business days separate the
  rate from the document (``stale_days``) once that gap exceeds the window: stale rates are never silent.
- The stored rate is the rounded one, so anyone can recompute a base amount from the provenance alone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cache, lru_cache
from typing import Protocol

from bridge.domain.ecb_history import SHIPPED_SOURCE, EcbHistory

RATE_PLACES = Decimal("0.0000000001")  # 10 decimals: far below a cent on any realistic amount
CENT = Decimal("0.01")
WINDOW_BUSINESS_DAYS = 4
ECB_SOURCE = SHIPPED_SOURCE  # the default table's source


class RateTable(Protocol):
    """Units of `currency` per unit of the reference currency on one day (None: not published)."""

    reference: str

    def rate_on(self, currency: str, day: dt.date) -> Decimal | None: ...

    def last_day(self, currency: str) -> dt.date | None:
        """The currency's last published day; for the reference currency, the table's last day."""
        ...


@dataclass(frozen=True)
class Conversion:
    """How an amount was (or could not be) converted; stored beside the converted amounts."""

    base_currency: str
    rate: Decimal | None
    rate_date: dt.date | None
    source: str | None
    missing_reason: str | None = None
    stale_days: int | None = None  # business days from rate_date to the document date, when over the window

    @property
    def ok(self) -> bool:
        return self.rate is not None

    def apply(self, amount: Decimal | None) -> Decimal | None:
        if amount is None or self.rate is None:
            return None
        return (amount * self.rate).quantize(CENT, rounding=ROUND_HALF_UP)


def business_days_between(earlier: dt.date, later: dt.date) -> int:
    """Monday-to-Friday days in (earlier, later]: 0 when `later` is not after `earlier`."""
    if later <= earlier:
        return 0
    weeks, extra = divmod((later - earlier).days, 7)
    count = weeks * 5
    for offset in range(1, extra + 1):
        if (earlier + dt.timedelta(days=offset)).weekday() < 5:
            count += 1
    return count


def window_start(anchor: dt.date, business_days: int = WINDOW_BUSINESS_DAYS) -> dt.date:
    """The earliest day whose gap to `anchor` is at most `business_days` business days."""
    day = anchor
    while business_days_between(day - dt.timedelta(days=1), anchor) <= business_days:
        day -= dt.timedelta(days=1)
    return day


@cache
def ecb_rates() -> EcbHistory:
    """The shipped ECB file, loaded once per process (the offline fallback)."""
    return EcbHistory()


class BaseCurrencyConverter:
    """Converts document amounts to one base currency, memoising the rate per (currency, day)."""

    def __init__(self, base_currency: str, rates: RateTable | None = None, source: str | None = None):
        self.base_currency = base_currency.upper()
        self._rates = rates if rates is not None else ecb_rates()
        self._source = source or getattr(self._rates, "source", None) or SHIPPED_SOURCE
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
        table_end = self._rates.last_day(self._rates.reference)
        anchor = day if table_end is None else min(day, table_end)
        found = self._find(currency, anchor)
        if found is None:
            return Conversion(base, None, None, None, self._missing_reason(currency, anchor))
        rate_day, rate = found
        gap = business_days_between(rate_day, day)
        return Conversion(
            base,
            rate.quantize(RATE_PLACES, rounding=ROUND_HALF_UP),
            rate_day,
            self._source,
            stale_days=gap if gap > WINDOW_BUSINESS_DAYS else None,
        )

    def _find(self, currency: str, anchor: dt.date) -> tuple[dt.date, Decimal] | None:
        """Latest day in the window ending at `anchor` on which both currencies have a rate; the cross
        rate through the reference currency."""
        earliest = window_start(anchor)
        probe = anchor
        while probe >= earliest:
            from_rate = self._rates.rate_on(currency, probe)
            to_rate = self._rates.rate_on(self.base_currency, probe)
            if from_rate and to_rate:
                return probe, to_rate / from_rate
            probe -= dt.timedelta(days=1)
        return None

    def _missing_reason(self, currency: str, anchor: dt.date) -> str:
        pair = f"{currency}/{self.base_currency}"
        lasts = [
            f"{code} last published {last}"
            for code in (currency, self.base_currency)
            if code != self._rates.reference and (last := self._rates.last_day(code)) is not None and last < anchor
        ]
        unknown = [
            code
            for code in (currency, self.base_currency)
            if code != self._rates.reference and self._rates.last_day(code) is None
        ]
        detail = "; ".join([*(f"{code} never published by the ECB" for code in unknown), *lasts])
        reason = f"no ECB rate for {pair} within {WINDOW_BUSINESS_DAYS} business days before {anchor}"
        return f"{reason} ({detail})" if detail else reason


def parse_day(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None
