"""Console pages' render time with 10,000 exchanges and 5,000 interventions in one account.

moto runs in its own process (as AWS is remote to the function); the data is loaded with batch writes
through the adapters, with the layout the flows give it (exchanges spread over ten days, one in ten
failed, half of the failures fixed by a later success; interventions in every status). Each page is then
requested through the real API handler, in-process, with a signed-in session: warm-up requests first (a
warm Lambda has imported its modules and opened its connections), then timed ones; the figure is the
95th percentile per page, against 300 ms.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from tests.bench.webhook_latency import percentile

EXCHANGES = 10_000
INTERVENTIONS = 5_000
TARGET_MS = 300.0
WARMUP = 3
TIMED = 20
DAYS = 10


def _seed(account_id: str) -> dict[str, str]:
    """Load the account's data; returns ids the pages need (one failed exchange, one intervention, one run)."""
    from bridge.adapters import exchanges_repo, field_repo, import_state, ledger_repo
    from bridge.domain.interventions import STATUSES, Intervention
    from bridge.flows.exchange_log import exchange_item, subject_of
    from bridge.flows.importer.run import DONE, new_state

    now = datetime.now(UTC)
    items: list[dict[str, Any]] = []
    fixed_subjects: list[tuple[str, str, int]] = []
    for n in range(EXCHANGES):
        at = now - timedelta(seconds=(EXCHANGES - n) * DAYS * 86400 / EXCHANGES)
        failed = n % 10 == 3
        item = exchange_item(
            account_id=account_id,
            direction="inbound" if n % 3 else "outbound",
            kind="intervention_created" if n % 3 else "action_add_comment",
            status="failed" if failed else "ok",
            sellsy_type="estimate",
            sellsy_id=n % 2_000,
            field_id=f"est-{n % 2_000}",
            reason="Sellsy answered 503 Service Unavailable" if failed else None,
            request={"event": "estimate.step", "contact": {"email": "someone@example.fr"}},
            response={"status": 200},
            duration_ms=40 + n % 50,
            at=at,
        )
        if failed:
            item["replay_key"] = f"replay/{account_id}/{item['id']}.json"
            if n % 20 == 3:  # fixed later: the subject's latest success is after the failure
                subject = subject_of(item["direction"], item["kind"], "estimate", item["sellsy_id"], item["field_id"])
                assert subject is not None
                fixed_subjects.append((subject, item["id"], item["expires_at"]))
        items.append(item)
    exchanges_repo.put_many(items)
    for subject, failed_id, expires_at in fixed_subjects:
        exchanges_repo.note_success(account_id, subject, failed_id[:-1] + "z", expires_at)

    interventions = [
        Intervention(
            id=f"est-{n}",
            account_id=account_id,
            source_type="estimate",
            source_id=n,
            source_status="accepted",
            estimate_id=n,
            status=STATUSES[n % len(STATUSES)],  # type: ignore[arg-type]
            customer_id=f"company-{n % 300}",
            customer_name=f"Client {n % 300} SARL",
            subject=f"Entretien {n}",
            created_at=(now - timedelta(minutes=INTERVENTIONS - n)).isoformat(timespec="milliseconds"),
        )
        for n in range(INTERVENTIONS)
    ]
    field_repo.put_many_interventions(interventions)
    ledger_repo.claim(account_id, "est-3", "job done#0", kind="convert_quote", marker="bench")
    ledger_repo.mark_done(account_id, "est-3", "job done#0", sellsy_type="invoice", sellsy_id=3)

    run = {**new_state(account_id, "20261201T000000Z-be0c40", "EUR"), "status": DONE}
    import_state.save_run(run)
    failed_id = next(i["id"] for i in reversed(items) if i["status"] == "failed")
    return {"exchange": failed_id, "intervention": "est-3", "run": run["run_id"]}


def _session_cookie() -> str:
    from bridge.console import session

    value = session.encode(session.new_session("operator"), session.session_key("bearer"))
    return f"{session.SESSION_COOKIE}={value}"


def _pages(account_id: str, ids: dict[str, str]) -> dict[str, tuple[str, dict[str, str]]]:
    base = f"/console/accounts/{account_id}"
    day_ago = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    return {
        "exchanges": (f"{base}/exchanges", {}),
        "exchanges_failed": (f"{base}/exchanges", {"status": "failed"}),
        "exchanges_one_object": (f"{base}/exchanges", {"sellsy_type": "estimate", "sellsy_id": "1003"}),
        "exchanges_kind_direction": (f"{base}/exchanges", {"kind": "action_add_comment", "direction": "outbound"}),
        "exchange_detail": (f"{base}/exchanges/{ids['exchange']}", {}),
        "replay_confirm_24h": (f"{base}/exchanges/replay-failures", {"since": day_ago}),
        "interventions": (f"{base}/interventions", {}),
        "interventions_status": (f"{base}/interventions", {"status": "completed"}),
        "interventions_customer": (f"{base}/interventions", {"customer": "company-42"}),
        "interventions_days": (f"{base}/interventions", {"created_from": datetime.now(UTC).date().isoformat()}),
        "intervention_detail": (f"{base}/interventions/{ids['intervention']}", {}),
        "imports": (f"{base}/imports", {}),
        "import_run": (f"{base}/imports/{ids['run']}", {}),
        "import_progress_json": (f"{base}/imports/{ids['run']}/progress.json", {}),
    }


def _get(path: str, query: dict[str, str], cookie: str) -> tuple[int, float]:
    from bridge.handlers.api import lambda_handler
    from infra.local.gateway import build_event
    from infra.local.lambda_context import LocalContext

    headers = {"host": "127.0.0.1:9999", "cookie": cookie, "accept-language": "fr-FR,fr;q=0.9"}
    event = build_event("GET", path, urlencode(query), headers, b"")
    started = time.perf_counter()
    result = lambda_handler(event, LocalContext(function_name="ApiFunction"))
    return int(result["statusCode"]), (time.perf_counter() - started) * 1000


def bench_console_pages() -> dict[str, Any]:
    from tests.bench.__main__ import check
    from tests.bench.import_bench import moto_process

    with contextlib.ExitStack() as exits:
        env = exits.enter_context(moto_process())
        from infra.local.stack import AWS_DEFAULTS, apply_environment, store_api_token

        apply_environment({**AWS_DEFAULTS, **env, "POWERTOOLS_LOG_LEVEL": "WARNING"})
        os.environ.pop("PUBLIC_API_URL", None)
        store_api_token(f"bench-{uuid.uuid4().hex}")
        from bridge.flows import accounts as account_flows

        account_id = f"bench-{uuid.uuid4().hex[:6]}"
        account_flows.create_account(name="Console bench", account_id=account_id)
        from bridge.adapters import accounts_repo

        accounts_repo.set_status(account_id, "active", None, auth_method="client_credentials")  # may replay
        started = time.perf_counter()
        ids = _seed(account_id)
        seed_seconds = time.perf_counter() - started
        print(f"bench: console seeded in {seed_seconds:.1f} s", flush=True)
        cookie = _session_cookie()
        figures: dict[str, Any] = {
            "load_average_1min_at_start": round(os.getloadavg()[0], 2),  # the machine is shared: context
            "seeded_exchanges": EXCHANGES,
            "seeded_interventions": INTERVENTIONS,
            "seed_seconds": round(seed_seconds, 1),
            "requests_per_page": TIMED,
        }
        for name, (path, query) in _pages(account_id, ids).items():
            for _ in range(WARMUP):
                status, _ms = _get(path, query, cookie)
                if status != 200:
                    raise RuntimeError(f"{name}: {path} answered {status}")
            samples = [_get(path, query, cookie)[1] for _ in range(TIMED)]
            figures[name] = {
                "p95_ms": check(percentile(samples, 0.95), TARGET_MS),
                "median_ms": round(percentile(samples, 0.5), 1),
            }
            print(f"bench: console {name}: p95 {figures[name]['p95_ms']['value']:.0f} ms", flush=True)
        figures["load_average_1min_at_end"] = round(os.getloadavg()[0], 2)
        return figures
