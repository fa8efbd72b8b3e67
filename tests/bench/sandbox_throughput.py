"""Sandbox throughput with quotas off, over loopback, several client threads (`make bench` part).

The sandbox runs as a separate process (`python -m infra.local.sandbox`), as in the benchmarks that
use it, so the measuring threads do not compete with it for the interpreter lock.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
# What the connector does most: list pages, document details, customer reads, a search.
MIX = (
    ("GET", "/invoices", {"limit": "100"}, None),
    ("GET", "/invoices/{n}", None, None),
    ("GET", "/companies/{c}", {"embed[]": "invoicing_address"}, None),
    ("GET", "/estimates/{e}", None, None),
    ("POST", "/companies/search", {"limit": "25"}, {"filters": {"updated_at": {"start": "2024-01-01T00:00:00Z"}}}),
)


def start_sandbox(size: int = 2000, seed: int = 7) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    env = {**os.environ, "PYTHONPATH": f"functions{os.pathsep}."}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "infra.local.sandbox",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--seed",
            str(seed),
            "--size",
            str(size),
            "--no-record",
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        process.kill()
        raise RuntimeError("sandbox process did not start")
    return process, json.loads(line)


def measure(seconds: float = 5, threads: int = 4, size: int = 2000) -> dict[str, Any]:
    process, info = start_sandbox(size=size)
    try:
        token = httpx.post(
            info["token_url"],
            json={
                "grant_type": "client_credentials",
                "client_id": info["client_id"],
                "client_secret": info["client_secret"],
            },
        ).json()["access_token"]
        # warm-up: the first write waits for the OpenAPI file to be parsed (request validation)
        warm = httpx.post(
            f"{info['api_url']}/companies/search",
            headers={"Authorization": f"Bearer {token}"},
            json={"filters": {}},
            timeout=60,
        )
        warm.raise_for_status()
        counts = {"ok": 0, "errors": 0}
        latencies: list[float] = []
        lock = threading.Lock()
        stop_at = time.monotonic() + seconds

        def worker(index: int) -> None:
            local_ok = local_errors = 0
            local_lat: list[float] = []
            with httpx.Client(
                base_url=info["api_url"], headers={"Authorization": f"Bearer {token}"}, timeout=10
            ) as client:
                step = index
                while time.monotonic() < stop_at:
                    method, path, params, body = MIX[step % len(MIX)]
                    step += 1
                    path = path.format(n=1 + step % size, c=1 + step % 50, e=1 + step % 100)
                    started = time.perf_counter()
                    response = client.request(method, path, params=params, json=body)
                    local_lat.append(time.perf_counter() - started)
                    if response.status_code < 400:
                        local_ok += 1
                    else:
                        local_errors += 1
            with lock:
                counts["ok"] += local_ok
                counts["errors"] += local_errors
                latencies.extend(local_lat)

        started = time.monotonic()
        pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        elapsed = time.monotonic() - started
    finally:
        process.terminate()
        process.wait(timeout=10)
    latencies.sort()
    return {
        "requests_per_second": counts["ok"] / elapsed,
        "requests": counts["ok"],
        "errors": counts["errors"],
        "threads": threads,
        "size": size,
        "latency_p50_ms": round(1000 * latencies[len(latencies) // 2], 2) if latencies else None,
        "latency_p95_ms": round(1000 * latencies[int(len(latencies) * 0.95)], 2) if latencies else None,
    }


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
