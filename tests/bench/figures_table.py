"""README "Figures" table, written from tests/bench/results.json (`make bench` calls ``update_readme``).

``python -m tests.bench.figures_table`` rewrites the table from the results file alone. A test checks that
README shows what the results file holds, so the two never drift apart.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
RESULTS = Path(__file__).resolve().parent / "results.json"
README = REPO_ROOT / "README.md"
START, END = "<!-- figures:start -->", "<!-- figures:end -->"

Row = tuple[str, str, str, str]  # figure, value, target, met
Figures = dict[str, Any]


def _num(value: float, digits: int = 4) -> str:
    text = f"{value:,.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _bar(entry: dict[str, Any], unit: str = "", digits: int = 4) -> str:
    target = entry.get("target", entry.get("minimum"))
    if target is None:
        return "—"
    return f"{'≤' if entry.get('comparison', '<=') == '<=' else '≥'} {_num(float(target), digits)}{unit}"


def _row(
    label: str, entry: Any, value: str | None = None, unit: str = "", digits: int = 4, scale: float = 1.0
) -> Row | None:
    if not isinstance(entry, dict) or "met" not in entry:
        return None
    if scale != 1.0:  # e.g. a share shown in percent, its target too
        entry = {**entry, "value": entry["value"] * scale, "target": entry["target"] * scale}
    shown = value if value is not None else f"{_num(float(entry['value']), digits)}{unit}"
    return label, shown, _bar(entry, unit, digits), "yes" if entry["met"] else "**no**"


def _import_rows(part: Figures) -> Iterator[Row | None]:
    rate = part.get("quota_per_second")
    head = f"Import {part.get('invoices', 0):,} invoices at {rate} req/s"
    calls = f"{_num(part['calls_ratio']['value'])} ({part.get('calls')} / {part.get('minimum_calls')})"
    yield _row(f"{head}: API calls ÷ minimum", part.get("calls_ratio"), calls)
    wall = f"{_num(part['time_ratio']['value'])} ({part.get('wall_seconds')} s / {part.get('target_seconds')} s)"
    yield _row("Same: wall time ÷ (minimum calls ÷ quota)", part.get("time_ratio"), wall)
    yield _row("Same: 429 answers", part.get("responses_429"), digits=0)
    yield _row("Same: importer peak RSS", part.get("peak_rss_mb"), unit=" MB", digits=0)


def _rerun_rows(part: Figures) -> Iterator[Row | None]:
    ratio = part["rerun_calls_ratio"]["value"]
    head = f"Re-run after 1 % of documents changed ({part.get('changed_documents')} documents)"
    shown = f"{_num(ratio)} ({part.get('rerun_calls')} / {part.get('rerun_minimum_calls')})"
    yield _row(f"{head}: calls ÷ minimum", part.get("rerun_calls_ratio"), shown)
    first = f"{_num(part['first_over_rerun']['value'], 1)} ({part.get('first_run_calls')} / {part.get('rerun_calls')})"
    yield _row("Same: first run's calls ÷ re-run's", part.get("first_over_rerun"), first, digits=1)


def _memory_rows(part: Figures) -> Iterator[Row | None]:
    label = f"Import {part.get('invoices', 0):,} invoices (quotas off, {part.get('wall_seconds')} s): peak RSS"
    yield _row(label, part.get("peak_rss_mb"), unit=" MB", digits=0)


def _quota_rows(part: Figures) -> Iterator[Row | None]:
    head = f"Sliding-window quota ({part.get('quota')})"
    share = f"{_num(100 * part['share_429']['value'], 2)} % ({part.get('responses_429')} of {part.get('calls')})"
    yield _row(f"{head}: share of calls answered 429", part.get("share_429"), share, unit=" %", digits=2, scale=100)
    seconds = f"{part.get('perfect_client_seconds')} s / {part.get('wall_seconds')} s"
    through = f"{_num(part['throughput_vs_quota']['value'])} ({seconds})"
    yield _row("Same: throughput ÷ the quota's", part.get("throughput_vs_quota"), through)
    yield _row("Same: import never failed (1 = done)", part.get("never_failed"), digits=0)


def _calls_rows(part: Figures) -> Iterator[Row | None]:
    quotes = part.get("quotes")
    yield _row(f"Sellsy calls per intervention made of a quote ({quotes} quotes)", part.get("calls_per_intervention"))
    yield _row("Sellsy calls per completion", part.get("calls_per_completion"))
    yield _row("Same: quotes that became interventions", part.get("every_quote_made"), digits=0)


def _webhook_rows(part: Figures) -> Iterator[Row | None]:
    label = f"Webhook acknowledgement over {part.get('deliveries')} deliveries: p99 (p50 {part.get('p50_ms')} ms"
    floor = part.get("bare_send_message_floor")
    if isinstance(floor, dict):  # the emulator's share: the same SendMessage sent bare after each delivery
        label += f"; bare SendMessage p99 {floor.get('p99_ms')} ms"
    label += ")"
    yield _row(label, part.get("p99_ms"), unit=" ms", digits=2)


def _quote_rows(part: Figures) -> Iterator[Row | None]:
    label = f"Quote accepted → intervention visible ({part.get('quotes')} quotes): p95 (p50 {part.get('p50_s')} s)"
    yield _row(label, part.get("p95_s"), unit=" s", digits=3)


def _cold_rows(part: Figures) -> Iterator[Row | None]:
    for name, entry in part.items():
        if isinstance(entry, dict) and "median_import_ms" in entry:
            check = {"value": entry["median_import_ms"], "target": entry["target_ms"], "met": entry["met"]}
            without = entry.get("median_import_ms_without_bytecode")
            label = f"Cold start, {name} imported from its built artifact"
            if without is not None:
                label += f" ({without:,.0f} ms without the compiled bytecode)"
            yield _row(label, check, unit=" ms", digits=1)


def _sandbox_rows(part: Figures) -> Iterator[Row | None]:
    yield _row("Sellsy sandbox throughput, quotas off", part.get("requests_per_second"), unit=" req/s", digits=0)


CONSOLE_PAGES = {
    "exchanges": "exchange log, no filter",
    "exchanges_failed": "exchange log, failures only",
    "exchanges_one_object": "exchange log, one Sellsy object",
    "exchanges_kind_direction": "exchange log, kind and direction",
    "exchange_detail": "one exchange",
    "replay_confirm_24h": "replay failures of the last 24 h, confirmation",
    "interventions": "interventions, no filter",
    "interventions_status": "interventions, one status",
    "interventions_customer": "interventions, one customer",
    "interventions_days": "interventions, created today",
    "intervention_detail": "one intervention",
    "imports": "imports",
    "import_run": "one import run",
    "import_progress_json": "an import run's progress (JSON)",
}


def _console_rows(part: Figures) -> Iterator[Row | None]:
    seeded = f"{part.get('seeded_exchanges', 0):,} exchanges and {part.get('seeded_interventions', 0):,} interventions"
    for key, page in CONSOLE_PAGES.items():
        entry = part.get(key)
        if isinstance(entry, dict):
            label = f"Console, {page} ({seeded}): p95 (median {entry.get('median_ms')} ms)"
            yield _row(label, entry.get("p95_ms"), unit=" ms", digits=0)


PARTS: dict[str, Callable[[Figures], Iterator[Row | None]]] = {
    "import_5000": _import_rows,
    "rerun_1_percent": _rerun_rows,
    "memory_50000": _memory_rows,
    "quota_sliding": _quota_rows,
    "sellsy_calls": _calls_rows,
    "webhook_ack": _webhook_rows,
    "quote_to_intervention": _quote_rows,
    "cold_start": _cold_rows,
    "sandbox_throughput": _sandbox_rows,
    "console": _console_rows,
}


def render(results: dict[str, Any]) -> str:
    """The table (with its heading line) for a results file's content."""
    machine = results.get("machine", {})
    lines = [
        f"Measured on {machine.get('date')} at commit {machine.get('commit')} ({machine.get('platform')}, "
        f"{machine.get('cpus')} cores, Python {machine.get('python')}).",
        "",
        "| figure | value | target | met |",
        "|---|---|---|---|",
    ]
    figures = results.get("figures", {})
    for name, rows in PARTS.items():
        part = figures.get(name)
        if not isinstance(part, dict):
            continue
        if "error" in part:
            lines.append(f"| {name} | failed: {part['error']} | — | **no** |")
            continue
        lines.extend(f"| {' | '.join(row)} |" for row in rows(part) if row)
    return "\n".join(lines)


def readme_table(readme: str) -> str:
    found = re.search(re.escape(START) + r"\n(.*?)\n" + re.escape(END), readme, re.S)
    return found.group(1) if found else ""


def update_readme(results_path: Path = RESULTS, readme_path: Path = README) -> None:
    readme = readme_path.read_text(encoding="utf-8")
    table = render(json.loads(results_path.read_text(encoding="utf-8")))
    before, _, rest = readme.partition(START + "\n")
    _, _, after = rest.partition(END)
    readme_path.write_text(f"{before}{START}\n{table}\n{END}{after}", encoding="utf-8")


if __name__ == "__main__":
    update_readme()
    print(f"{README.name}: figures table written from {RESULTS.relative_to(REPO_ROOT)}")
