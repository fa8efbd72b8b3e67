"""Import benchmarks (`make bench` parts; the import bars of README "Figures").

Three processes, so each figure is the importer's alone: the Sellsy sandbox (`python -m
infra.local.sandbox`, quota per second fixed), moto in server mode, and the import itself
(`python -m tests.bench.import_bench --child ...`), whose peak RSS is read from `getrusage`.

    bench_import(invoices=5000, quota_per_second=50)  calls vs minimum, wall time vs minimum/quota, 429s, RSS
    bench_rerun(changed_fraction=0.01)                 calls of a re-run after 1 % of invoices changed
    bench_memory(invoices=50000)                       peak RSS of a full import
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
PAGE = 100
TARGET_CALLS_RATIO = 1.02
TARGET_TIME_RATIO = 1.05
TARGET_RSS_MB = 200
TARGET_RERUN_FACTOR = 10


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": f"functions{os.pathsep}.", "PYTHONDONTWRITEBYTECODE": "1"}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def sandbox_process(size: int, quota_per_second: int | None, seed: int = 7) -> Iterator[dict[str, Any]]:
    args = [sys.executable, "-m", "infra.local.sandbox", "--port", "0", "--seed", str(seed)]
    args += ["--size", str(size), "--no-record"]
    if quota_per_second:
        args += ["--quota-per-second", str(quota_per_second)]
    process = subprocess.Popen(args, cwd=REPO_ROOT, env=_env(), stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError("sandbox process did not start")
        yield json.loads(line)
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def moto_process() -> Iterator[dict[str, str]]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "infra.local.moto_server", "-p", str(port)],
        cwd=REPO_ROOT,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(f"{endpoint}/moto-api/", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        os.environ.update(
            {
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": "eu-west-3",
            }
        )
        from infra.local.resources import create_stack

        stack = create_stack(endpoint_url=endpoint)
        yield {
            **stack.env,
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "eu-west-3",
            "AWS_REGION": "eu-west-3",
        }
    finally:
        process.terminate()
        process.wait(timeout=30)


def _control(info: dict[str, Any], method: str, path: str, **kwargs: Any) -> Any:
    response = httpx.request(method, f"{info['url']}/_sandbox{path}", timeout=120, **kwargs)
    response.raise_for_status()
    return response.json() if response.content else None


def _api_calls(info: dict[str, Any]) -> tuple[int, int]:
    calls = _control(info, "GET", "/calls")
    return int(calls["total"]), int(calls["429"])


def minimum_calls(info: dict[str, Any], changed_documents: int | None = None) -> int:
    """List pages + one detail per new/changed document (+ its links for credit notes) + reference data."""

    def total(path: str, search: bool) -> int:
        token = _token(info)
        headers = {"Authorization": f"Bearer {token}"}
        url = f"{info['api_url']}{path}"
        body = (
            {"filters": {"type": ["product", "service"], "is_archived": False}} if "items" in path else {"filters": {}}
        )
        answer = (
            httpx.post(url, json=body, params={"limit": 1}, headers=headers)
            if search
            else httpx.get(url, params={"limit": 1}, headers=headers)
        )
        return int(answer.json()["pagination"]["total"])

    pages = lambda n: max(1, -(-n // PAGE))  # noqa: E731
    invoices = total("/invoices/search", True)
    credit_notes = total("/credit-notes/search", True)
    products = total("/items/search", True)
    reference = sum(pages(total(p, False)) for p in ("/taxes", "/units", "/currencies", "/rate-categories"))
    customers = pages(total("/companies/search", True)) + pages(total("/individuals/search", True))
    if changed_documents is None:  # first run: every detail, every item's prices
        detail, prices = invoices + 2 * credit_notes, products
    else:  # re-run: changed documents, and the prices whose weekly turn it is (about 1/7 of the items)
        detail, prices = changed_documents, _prices_due_today(info)
    return reference + customers + pages(products) + prices + pages(invoices) + pages(credit_notes) + detail


def _prices_due_today(info: dict[str, Any]) -> int:
    from datetime import UTC, datetime

    from bridge.flows.importer.phases import PRICE_REFRESH_DAYS

    day = datetime.now(UTC).date().toordinal() % PRICE_REFRESH_DAYS
    items = _control(info, "GET", "/state", params={"type": "items"})
    items = items if isinstance(items, list) else items.get("items", [])
    live = [i for i in items if not i.get("is_archived") and i.get("type") in ("product", "service")]
    return sum(1 for i in live if int(i["id"]) % PRICE_REFRESH_DAYS == day)


def _token(info: dict[str, Any]) -> str:
    answer = httpx.post(
        info["token_url"],
        json={
            "grant_type": "client_credentials",
            "client_id": info["client_id"],
            "client_secret": info["client_secret"],
        },
    )
    return str(answer.json()["access_token"])


def run_child(info: dict[str, Any], aws_env: dict[str, str], account_id: str) -> dict[str, Any]:
    """The import in its own interpreter; returns its JSON report (wall time, peak RSS, answer)."""
    env = {**_env(), **aws_env}
    payload = json.dumps({"info": info, "account_id": account_id})
    out = subprocess.run(
        [sys.executable, "-m", "tests.bench.import_bench", "--child"],
        cwd=REPO_ROOT,
        env=env,
        input=payload,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def _child_main() -> None:
    request = json.loads(sys.stdin.read())
    info, account_id = request["info"], request["account_id"]
    devnull = open(os.devnull, "w")  # noqa: SIM115 - handler logs and EMF go nowhere during the bench
    real_stdout, sys.stdout = sys.stdout, devnull
    from bridge.flows.importer.run import ImportDeps, run_chunk
    from bridge.sellsy.auth import StaticTokenProvider
    from bridge.sellsy.client import SellsyClient

    client = SellsyClient(info["api_url"], StaticTokenProvider(_token(info)))
    deps = ImportDeps(client=client, base_currency="EUR", export_bucket=os.environ.get("REPORTS_BUCKET"))
    started = time.monotonic()
    answer: dict[str, Any] = {}
    while not answer.get("done"):
        answer = run_chunk(account_id, deps, run_id=answer.get("run_id"))
    wall = time.monotonic() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sys.stdout = real_stdout
    print(json.dumps({"wall_seconds": wall, "peak_rss_mb": peak_mb, "answer": answer}, default=str))


def bench_import(invoices: int = 5000, quota_per_second: int = 50) -> dict[str, Any]:
    with sandbox_process(invoices, quota_per_second) as info, moto_process() as aws_env:
        minimum = minimum_calls(info)
        _control(info, "DELETE", "/calls")
        report = run_child(info, aws_env, "bench")
        calls, r429 = _api_calls(info)
    target_time = minimum / quota_per_second
    return {
        "invoices": invoices,
        "quota_per_second": quota_per_second,
        "calls": calls,
        "minimum_calls": minimum,
        "calls_ratio": _check(calls / minimum, TARGET_CALLS_RATIO),
        "wall_seconds": round(report["wall_seconds"], 2),
        "target_seconds": round(target_time, 2),
        "time_ratio": _check(report["wall_seconds"] / target_time, TARGET_TIME_RATIO),
        "responses_429": _check(r429, 0),
        "peak_rss_mb": _check(report["peak_rss_mb"], TARGET_RSS_MB),
        "status": report["answer"]["status"],
        "function_env": _tuning(aws_env),
    }


def bench_rerun(changed_fraction: float = 0.01, invoices: int = 5000) -> dict[str, Any]:
    with sandbox_process(invoices, None) as info, moto_process() as aws_env:
        _control(info, "DELETE", "/calls")
        run_child(info, aws_env, "bench")
        first, _ = _api_calls(info)
        changed = _control(info, "POST", "/act/mutate", json={"type": "invoice", "fraction": changed_fraction})["ids"]
        minimum = minimum_calls(info, changed_documents=len(changed))
        _control(info, "DELETE", "/calls")
        report = run_child(info, aws_env, "bench")
        rerun, _ = _api_calls(info)
    return {
        "invoices": invoices,
        "changed_documents": len(changed),
        "first_run_calls": first,
        "rerun_calls": rerun,
        "rerun_minimum_calls": minimum,
        "rerun_calls_ratio": _check(rerun / minimum, TARGET_CALLS_RATIO),
        "first_over_rerun": _check(first / max(rerun, 1), TARGET_RERUN_FACTOR, at_most=False),
        "status": report["answer"]["status"],
    }


def bench_memory(invoices: int = 50000) -> dict[str, Any]:
    with sandbox_process(invoices, None) as info, moto_process() as aws_env:
        report = run_child(info, aws_env, "bench")
    return {
        "invoices": invoices,
        "peak_rss_mb": _check(report["peak_rss_mb"], TARGET_RSS_MB),
        "wall_seconds": round(report["wall_seconds"], 2),
        "status": report["answer"]["status"],
        "function_env": _tuning(aws_env),
    }


def _tuning(aws_env: dict[str, str]) -> dict[str, str | None]:
    """The functions' runtime tuning from template.yaml that the import child ran with."""
    return {"MALLOC_ARENA_MAX": aws_env.get("MALLOC_ARENA_MAX")}


def _check(value: float, target: float, *, at_most: bool = True) -> dict[str, Any]:
    met = value <= target if at_most else value >= target
    return {"value": round(value, 4), "target": target, "comparison": "<=" if at_most else ">=", "met": met}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--part", choices=["import", "rerun", "memory"], default="import")
    parser.add_argument("--invoices", type=int, default=5000)
    parser.add_argument("--quota", type=int, default=50)
    args = parser.parse_args()
    if args.child:
        _child_main()
    elif args.part == "import":
        print(json.dumps(bench_import(args.invoices, args.quota), indent=2))
    elif args.part == "rerun":
        print(json.dumps(bench_rerun(invoices=args.invoices), indent=2))
    else:
        print(json.dumps(bench_memory(args.invoices), indent=2))
