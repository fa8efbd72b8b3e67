"""`python -m infra.local.sandbox` runs alone and prints its base URL and test credentials."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[3]


def test_cli_prints_credentials_and_serves_with_quotas() -> None:
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
            "4",
            "--size",
            "30",
            "--quota-per-second",
            "50",
            "--quota-per-minute",
            "2",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        assert info["api_url"] == info["url"] + "/v2"
        assert info["token_url"] == info["url"] + "/oauth2/access-tokens"
        token = httpx.post(
            info["token_url"],
            json={
                "grant_type": "client_credentials",
                "client_id": info["client_id"],
                "client_secret": info["client_secret"],
            },
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        statuses = [httpx.get(f"{info['api_url']}/units", headers=headers).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
    finally:
        process.terminate()
        process.wait(timeout=10)
