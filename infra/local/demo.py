"""The main job of `make run`: set up a demo account, import, play the field story, print what happened.

Everything goes through the product's public HTTP API, as a user or the field app would. Sellsy-side
actions (a customer accepting a quote) go through the sandbox's control endpoints, as a Sellsy user would.
"""

from __future__ import annotations

import io
import os
import secrets
import time
from dataclasses import dataclass
from typing import Any

import httpx

from infra.local.console import heading, say, table
from infra.local.stack import LOCAL_ACCOUNT_ID, Stack

DEMO_TRIGGERS = [
    {
        "name": "invoice-report-comment",
        "when": {"status": "completed", "has_estimate": True},
        "actions": [
            {"type": "convert_quote", "validate": False},
            {"type": "upload_report", "target": "estimate"},
            {
                "type": "add_comment",
                "target": "estimate",
                "template": "Intervention {intervention_id} done by {technician} on {completed_date}. Report attached.",
            },
        ],
    }
]
DEMO_RULES = [{"custom_field": "annual-contract", "equals": True, "tag": "annual-contract", "recurrence": "P1Y"}]


@dataclass(frozen=True)
class RealSellsy:
    """A real Sellsy account, reached with credentials from the environment (no sandbox)."""

    api_url: str
    token_url: str
    authorize_url: str
    client_id: str
    client_secret: str
    access_token: str
    writes_allowed: bool
    url: str = "https://api.sellsy.com"

    def stop(self) -> None:
        return None


def real_sellsy_from_env() -> RealSellsy | None:
    client_id = os.environ.get("SELLSY_CLIENT_ID", "")
    access_token = os.environ.get("SELLSY_ACCESS_TOKEN", "")
    if not client_id and not access_token:
        return None
    from bridge.settings import SELLSY_API_URL, SELLSY_AUTHORIZE_URL, SELLSY_TOKEN_URL

    return RealSellsy(
        api_url=os.environ.get("SELLSY_API_URL", SELLSY_API_URL),
        token_url=os.environ.get("SELLSY_TOKEN_URL", SELLSY_TOKEN_URL),
        authorize_url=os.environ.get("SELLSY_AUTHORIZE_URL", SELLSY_AUTHORIZE_URL),
        client_id=client_id,
        client_secret=os.environ.get("SELLSY_CLIENT_SECRET", ""),
        access_token=access_token,
        writes_allowed=os.environ.get("SELLSY_WRITES", "") == "1",
    )


class DemoError(RuntimeError):
    """A step of the story did not happen; the message says which and what was seen."""


def api_client(stack: Stack) -> httpx.Client:
    return httpx.Client(base_url=stack.api_url, headers={"Authorization": f"Bearer {stack.api_token}"}, timeout=60)


def expect(response: httpx.Response, *statuses: int) -> Any:
    if response.status_code not in statuses:
        raise DemoError(
            f"{response.request.method} {response.request.url.path} answered {response.status_code}: "
            f"{response.text[:500]}"
        )
    return response.json() if response.content else None


def start_stack(*, seed: int, size: int, real: RealSellsy | None) -> tuple[Stack, str]:
    stack = Stack(seed=seed, size=size, sandbox=real).start()
    stack.write_stack_file()
    say(f"  API           {stack.api_url}   (bearer token in .local/stack.json)")
    say(f"  Console       {stack.console_url}   (sign in with that token: api_token)")
    say(f"  Sellsy        {stack.sandbox.api_url}" + ("" if real else f"   (sandbox: seed {seed}, {size} invoices)"))
    say(f"  AWS (moto)    {stack.aws_endpoint_url}")
    account_id = create_demo_account(stack, real)
    return stack, account_id


def create_demo_account(stack: Stack, real: RealSellsy | None, account_id: str = LOCAL_ACCOUNT_ID) -> str:
    heading("Creating and connecting the demo account")
    signing_key = secrets.token_hex(16)
    with api_client(stack) as api:
        expect(
            api.post(
                "/accounts",
                json={
                    "id": account_id,
                    "name": "Demo plumbing company",
                    "webhook_signing_key": signing_key,
                    "settings": {
                        "base_currency": "EUR",
                        "sync_direction": "both",
                        "custom_field_rules": DEMO_RULES,
                        "triggers": DEMO_TRIGGERS,
                    },
                },
            ),
            201,
        )
        if real and real.access_token and not real.client_id:
            connection = {"method": "access_token", "access_token": real.access_token}
        else:
            source = real or stack.sandbox
            connection = {
                "method": "client_credentials",
                "client_id": source.client_id,
                "client_secret": source.client_secret,
            }
        account = expect(api.put(f"/accounts/{account_id}/connection", json=connection), 200)
        say(f"  account '{account_id}' is {account['status']} ({account['auth_method']})")
        if real is None:
            account = expect(api.post(f"/accounts/{account_id}/webhook", json={}), 200)
            say(
                f"  webhook registered in Sellsy (id {account.get('sellsy_webhook_id')}) → "
                f"{stack.api_url}/webhooks/sellsy/{account_id}"
            )
        else:
            say("  webhook not registered: a laptop is not reachable from Sellsy (deploy to AWS for that)")
    return account_id


def run_story(stack: Stack, account_id: str, *, real: RealSellsy | None, started: float | None = None) -> int:
    """The import and the field story, then the summary; "Done in" counts from `started` (the whole run)."""
    started = time.perf_counter() if started is None else started
    try:
        import_results = run_first_import(account_id)
        keep_snapshot_copy()  # here, not in run_first_import: tests import through that one
        story: dict[str, Any] = {}
        if real is None or real.writes_allowed:
            if real is None:
                story = play_field_story(stack, account_id)
            else:
                say("  (field story skipped: against a real account it needs a quote you choose to accept)")
        else:
            heading("Field story skipped")
            say("  Against a real Sellsy account nothing is written unless SELLSY_WRITES=1.")
        print_summary(stack, account_id, import_results, story)
    except DemoError as error:
        heading("Something did not happen")
        say(f"  {error}")
        say("  The JSON logs are in .local/logs/stack.jsonl.")
        return 1
    heading(f"Done in {time.perf_counter() - started:.1f} s")
    return 0


def run_first_import(account_id: str) -> dict[str, Any]:
    heading("First nightly import")
    from infra.local.import_runner import run_import, show_progress

    results = run_import([account_id], on_progress=show_progress)
    say()
    answer = results.get(account_id, {})
    if not answer.get("done"):
        raise DemoError(f"the import did not finish: {answer.get('status')}")
    return answer


def keep_snapshot_copy() -> None:
    """moto's S3 ends with the run: a copy of the snapshot stays in .local/exports/ for `make query`."""
    from bridge.adapters.aws import client
    from infra.query import mirror_snapshots

    copied = mirror_snapshots(client("s3"), os.environ["REPORTS_BUCKET"])
    say(f"  snapshot: {copied} files copied to .local/exports/ (try: make query SQL=mrr)")


def choose_estimate(stack: Stack) -> dict[str, Any]:
    """A quote of a client (Sellsy only invoices clients) with catalogue rows: the one a customer accepts.

    An open one (draft, sent, read) is preferred; otherwise one is sent again, as a sales rep would.
    """
    customers = {("company", c["id"]): c for c in stack.sandbox.state("companies")}
    customers.update({("individual", i["id"]): i for i in stack.sandbox.state("individuals")})
    candidates = []
    for estimate in stack.sandbox.state("estimates"):
        customer = next(
            (
                customers.get((r["type"], r["id"]))
                for r in estimate["related"]
                if r["type"] in ("company", "individual")
            ),
            None,
        )
        has_catalog = any(row.get("type") == "catalog" and row.get("reference") for row in estimate.get("rows", []))
        if has_catalog and customer and customer.get("type") == "client":
            if estimate["status"] in ("draft", "sent", "read"):
                return dict(estimate)
            candidates.append(estimate)
    if not candidates:
        raise DemoError("the sandbox has no quote for a client with catalogue rows")
    reopened = dict(candidates[0])
    stack.sandbox.act_set_estimate_status(reopened["id"], "sent")
    return reopened


def wait_for(what: str, probe: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.1)
    raise DemoError(f"{what} did not happen within {timeout:.0f} s")


def tiny_report_pdf(intervention_id: str, technician: str) -> bytes:
    """The technician's own PDF report (the field app would send a real one)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.cell(0, 10, f"Field report for intervention {intervention_id}")
    pdf.ln()
    pdf.cell(0, 10, f"Technician: {technician}")
    buffer = io.BytesIO()
    pdf.output(buffer)
    return buffer.getvalue()


def play_field_story(stack: Stack, account_id: str) -> dict[str, Any]:
    heading("Field story")
    estimate = choose_estimate(stack)
    say(f"  A customer accepts quote {estimate['number']} ({estimate['subject']}) in Sellsy ...")
    accepted_at = time.perf_counter()
    stack.sandbox.act_set_estimate_status(estimate["id"], "accepted")
    with api_client(stack) as api:

        def find_intervention() -> dict[str, Any] | None:
            page = expect(api.get(f"/accounts/{account_id}/interventions", params={"limit": 200}), 200)
            for item in page["items"]:
                if item.get("source_type") == "estimate" and str(item.get("source_id")) == str(estimate["id"]):
                    return dict(item)
            return None

        intervention = wait_for("the intervention for the accepted quote", find_intervention)
        latency = time.perf_counter() - accepted_at
        say(f"  ... intervention {intervention['id']} is there {latency:.2f} s later")

        technician = "Camille Martin"
        used_items = [
            {"sku": row["reference"], "quantity": str(row["quantity"])}
            for row in estimate["rows"]
            if row.get("type") == "catalog" and row.get("reference")
        ][:2]
        report = tiny_report_pdf(intervention["id"], technician)
        ticket = expect(
            api.post(
                f"/accounts/{account_id}/interventions/{intervention['id']}/report-upload-url",
                json={"size": len(report)},
            ),
            200,
        )
        upload = httpx.put(ticket["upload_url"], content=report, headers=ticket["headers"], timeout=30)
        if upload.status_code >= 300:
            raise DemoError(f"the report upload was refused: {upload.status_code} {upload.text[:200]}")
        say(
            f"  The technician uploads the report ({len(report)} bytes) and completes the job "
            f"with {len(used_items)} used items ..."
        )
        expect(
            api.post(
                f"/accounts/{account_id}/interventions/{intervention['id']}/complete",
                json={
                    "technician": technician,
                    "used_items": used_items,
                    "work_done": "Replaced the parts listed; tested; customer informed.",
                    "notes": "Access code 1234 at the gate.",
                    "report_key": ticket["report_key"],
                },
            ),
            202,
        )
        stack.pump.wait_idle(timeout=60)

        def completed() -> dict[str, Any] | None:
            current = expect(api.get(f"/accounts/{account_id}/interventions/{intervention['id']}"), 200)
            return dict(current) if (current.get("sellsy_links") or {}).get("invoices") else None

        done = wait_for("the invoice link on the completed intervention", completed, timeout=60)
    created = sellsy_objects_for(stack, estimate["id"], done["id"])
    return {"estimate": estimate, "intervention": done, "latency_s": latency, "created": created}


def sellsy_objects_for(stack: Stack, estimate_id: int, intervention_id: str) -> dict[str, list[dict[str, Any]]]:
    """What the story created in Sellsy, read back from the sandbox's own state."""
    invoices = [
        i
        for i in stack.sandbox.state("invoices")
        if (i.get("parent") or {}).get("type") == "estimate" and (i.get("parent") or {}).get("id") == estimate_id
    ]
    files = [
        f
        for f in stack.sandbox.state("files")
        if any(r.get("type") == "estimate" and r.get("id") == estimate_id for r in f.get("related", []))
    ]
    comments = [c for c in stack.sandbox.state("comments") if intervention_id in (c.get("description") or "")]
    return {"invoices": invoices, "files": files, "comments": comments}


def print_summary(stack: Stack, account_id: str, import_results: dict[str, Any], story: dict[str, Any]) -> None:
    heading("Summary")
    from infra.local.import_runner import show_summary

    show_summary({account_id: import_results})
    if story:
        intervention = story["intervention"]
        say()
        say(f"  Intervention {intervention['id']} ({intervention.get('status')}): {intervention.get('subject')}")
        say(f"    quote      {intervention.get('deep_link')}")
        for name, links in (intervention.get("sellsy_links") or {}).items():
            for link in links:
                say(f"    {name[:-1]:<10} {link}")
        created = story["created"]
        say()
        say("  Created in Sellsy:")
        for invoice in created["invoices"]:
            say(
                f"    invoice   #{invoice['id']} {invoice.get('number') or '(draft)'} status {invoice['status']}, "
                f"{len(invoice.get('rows', []))} rows, "
                f"{invoice['amounts']['total_excl_tax']} {invoice['currency']} excl. tax"
            )
        for file in created["files"]:
            say(
                f"    file      #{file['id']} {file['name']} ({file['size']} bytes) "
                f"on estimate {story['estimate']['id']}"
            )
        for comment in created["comments"]:
            say(f'    comment   #{comment["id"]} "{comment["description"][:90]}"')
    with api_client(stack) as api:
        page = expect(api.get(f"/accounts/{account_id}/exchanges", params={"limit": 8}), 200)
    say()
    say("  Latest exchanges (newest first):")
    table(
        [
            [
                e.get("created_at", "")[11:19],
                e.get("direction"),
                e.get("kind"),
                e.get("status"),
                f"{e.get('sellsy_type') or ''} {e.get('sellsy_id') or ''}".strip(),
                (e.get("reason") or "")[:40],
            ]
            for e in page.get("items", [])
        ],
        ["time", "direction", "kind", "status", "sellsy object", "reason"],
    )
