"""Document amounts onto lines, and the check that the lines add up to the document (pure, no I/O).

Sellsy gives each row its amount after the row's own discount (`amount_tax_exc`), and the document its
totals after the document-level discount (`amounts.total_excl_tax`, `amounts.total_incl_tax`, `taxes[]`
per rate). The document-level discount is allocated to the rows it applies to, pro rata to their amount,
in whole cents (largest remainder), so each line's `amount_excl_tax` is after every discount and the
lines add up to the document exactly. Taxes follow: a line whose amount changed gets its tax recomputed at
its rate, and each rate's total is brought to the document's figure for that rate (rounding cents only).

Which rows a document-level discount applies to is not stated by Sellsy's file: its amounts say the
discounted subtotal excludes shipping and packaging (`total_after_discount_excl_tax`), so goods and
services rows are tried first, then every row; the first basis whose taxes agree with the document's
per-rate taxes is kept and recorded on the document. A gap no discount explains is never spread: the
document is imported as it is and flagged with its differences.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")
ZERO = Decimal(0)
TOLERANCE = CENT  # Sellsy rounds each amount to the cent: one cent per document is rounding

# Every row type of Sellsy's file (invoice, progress-invoice and credit-note rows) and what we do with it.
MAPPED_ROW_TYPES = (
    "single",
    "catalog",
    "shipping",
    "packaging",
    "deposit",
    "progress-single",
    "progress-catalog",
    "progress-shipping",
    "progress-packaging",
)
LEFT_OUT_ROW_TYPES = {
    "comment": "text only, no amount",
    "title": "text only, no amount",
    "break-line": "layout only, no amount",
    "break-page": "layout only, no amount",
    "sub-total": "repeats the sum of the rows above it: counting it would count them twice",
}
# Rows a document-level discount applies to, tried in this order (see the module docstring).
GOODS_ROW_TYPES = frozenset({"single", "catalog", "progress-single", "progress-catalog"})
BASES: tuple[tuple[str, frozenset[str] | None], ...] = (
    ("pro rata over goods and services rows (shipping, packaging and deposit rows excluded)", GOODS_ROW_TYPES),
    ("pro rata over every row", None),
)


def dec(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def is_amount_row(row: dict[str, Any]) -> bool:
    """A row that carries revenue: a mapped type, or a type unknown to us that carries an amount."""
    if row.get("is_optional") or row.get("id") is None:
        return False  # optional rows are not counted by Sellsy in the document's totals
    kind = row.get("type")
    if kind in MAPPED_ROW_TYPES:
        return True
    return kind not in LEFT_OUT_ROW_TYPES and row.get("amount_tax_exc") is not None


@dataclass(frozen=True)
class LineAmounts:
    """One line's amounts in the document's currency, unsigned (as Sellsy sends them)."""

    before_document_discount: Decimal  # row.amount_tax_exc
    document_discount: Decimal  # the share of the document-level discount, excl. tax
    amount_excl_tax: Decimal
    tax_amount: Decimal
    amount_incl_tax: Decimal


@dataclass(frozen=True)
class DocumentAmounts:
    lines: tuple[LineAmounts, ...]
    allocation: str | None  # how a document-level discount was allocated; None when nothing was
    lines_excl_tax: Decimal
    lines_tax: Decimal
    lines_incl_tax: Decimal
    document_excl_tax: Decimal | None
    document_tax: Decimal | None
    document_incl_tax: Decimal | None

    @property
    def difference(self) -> dict[str, Decimal] | None:
        """Lines minus document, per measure, when any is off by more than a cent (else None)."""
        if self.document_excl_tax is None or self.document_incl_tax is None or self.document_tax is None:
            return {"amount_excl_tax": self.lines_excl_tax, "tax_amount": self.lines_tax}  # no totals at all
        diff = {
            "amount_excl_tax": self.lines_excl_tax - self.document_excl_tax,
            "tax_amount": self.lines_tax - self.document_tax,
            "amount_incl_tax": self.lines_incl_tax - self.document_incl_tax,
        }
        return diff if any(abs(v) > TOLERANCE for v in diff.values()) else None


def pro_rata(total: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """Split ``total`` (whole cents) over ``weights`` in cents; the shares add up to ``total`` exactly."""
    weight_sum = sum(weights, ZERO)
    if not weights:
        return []
    if weight_sum == 0:
        return [total, *([ZERO] * (len(weights) - 1))]
    sign = -1 if total < 0 else 1
    magnitude = abs(total)
    exact = [magnitude * w / weight_sum for w in weights]
    shares = [e.quantize(CENT, rounding=ROUND_DOWN) for e in exact]
    left = int((magnitude - sum(shares, ZERO)) / CENT)
    by_remainder = sorted(range(len(weights)), key=lambda i: (exact[i] - shares[i], -i), reverse=True)
    for i in by_remainder[:left]:
        shares[i] += CENT
    return [s * sign for s in shares]


def _rate(row: dict[str, Any]) -> Decimal:
    return (dec(row.get("tax_rate")) or ZERO).normalize()


def _tax_targets(doc: dict[str, Any], document_tax: Decimal | None) -> dict[Decimal, Decimal] | None:
    """The document's tax per rate, when its `taxes[]` agree with its totals (else None: one total)."""
    taxes = doc.get("taxes")
    if not isinstance(taxes, list) or not taxes or document_tax is None:
        return None
    targets: dict[Decimal, Decimal] = {}
    for tax in taxes:
        rate, amount = dec(tax.get("rate")), dec(tax.get("amount"))
        if rate is None or amount is None:
            return None
        targets[rate.normalize()] = targets.get(rate.normalize(), ZERO) + amount
    return targets if abs(sum(targets.values(), ZERO) - document_tax) <= TOLERANCE else None


def _settle_taxes(
    rows: Sequence[dict[str, Any]],
    excl: Sequence[Decimal],
    taxes: list[Decimal],
    targets: dict[Decimal, Decimal] | None,
    document_tax: Decimal | None,
) -> bool:
    """Bring each rate's tax to the document's figure when the gap is rounding (≤ a cent per line of the
    rate, plus one). Changes ``taxes`` in place; returns whether every group agreed."""
    groups: dict[Decimal | None, list[int]] = {}
    for i, row in enumerate(rows):
        groups.setdefault(_rate(row) if targets is not None else None, []).append(i)
    agreed = True
    for rate, members in groups.items():
        if targets is not None and rate is not None:
            target = targets.get(rate, ZERO)
        elif document_tax is not None:
            target = document_tax
        else:
            return False
        gap = target - sum((taxes[i] for i in members), ZERO)
        if gap == 0:
            continue
        if abs(gap) > CENT * (len(members) + 1):
            agreed = False
            continue
        for i, share in zip(members, pro_rata(gap, [abs(excl[i]) for i in members]), strict=True):
            taxes[i] += share
    return agreed


def _taxes_for(rows: Sequence[dict[str, Any]], excl: Sequence[Decimal], shares: Sequence[Decimal]) -> list[Decimal]:
    taxes = []
    for row, amount, share in zip(rows, excl, shares, strict=True):
        given = dec(row.get("tax_amount"))
        if share == 0 and given is not None:
            taxes.append(given)
        else:
            taxes.append(cents(amount * _rate(row) / 100))
    return taxes


def allocate(doc: dict[str, Any], rows: Sequence[dict[str, Any]]) -> DocumentAmounts:
    """The amounts of the document's amount rows (``rows``, in order), document-level discount allocated."""
    amounts = doc.get("amounts") or {}
    document_excl, document_incl = dec(amounts.get("total_excl_tax")), dec(amounts.get("total_incl_tax"))
    document_tax = None if document_excl is None or document_incl is None else document_incl - document_excl
    before = [dec(row.get("amount_tax_exc")) or ZERO for row in rows]
    targets = _tax_targets(doc, document_tax)
    discount = dec((doc.get("discount") or {}).get("amount")) or ZERO
    gap = sum(before, ZERO) - document_excl if document_excl is not None else ZERO

    options: list[tuple[str | None, list[Decimal]]] = []
    if discount > 0 and gap != 0 and abs(gap - discount) <= TOLERANCE:
        for label, kinds in BASES:
            eligible = [i for i, row in enumerate(rows) if kinds is None or row.get("type") in kinds]
            if eligible and sum((before[i] for i in eligible), ZERO) != 0:
                split = pro_rata(gap, [before[i] for i in eligible])
                shares = [ZERO] * len(rows)
                for i, share in zip(eligible, split, strict=True):
                    shares[i] = share
                options.append((label, shares))
    options.append((None, [ZERO] * len(rows)))  # nothing to allocate (or nothing explains the gap)

    chosen: tuple[list[Decimal], list[Decimal], list[Decimal]] | None = None
    allocation: str | None = None
    for option, shares in options:
        excl = [b - s for b, s in zip(before, shares, strict=True)]
        taxes = _taxes_for(rows, excl, shares)
        agreed = _settle_taxes(rows, excl, taxes, targets, document_tax)
        if chosen is None or agreed:
            allocation, chosen = option, (shares, excl, taxes)
        if agreed:
            break
    assert chosen is not None
    shares, excl, taxes = chosen
    lines = tuple(LineAmounts(b, s, e, t, e + t) for b, s, e, t in zip(before, shares, excl, taxes, strict=True))
    return DocumentAmounts(
        lines=lines,
        allocation=allocation,
        lines_excl_tax=sum(excl, ZERO),
        lines_tax=sum(taxes, ZERO),
        lines_incl_tax=sum((line.amount_incl_tax for line in lines), ZERO),
        document_excl_tax=document_excl,
        document_tax=document_tax,
        document_incl_tax=document_incl,
    )
