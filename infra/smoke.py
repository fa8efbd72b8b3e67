"""First steps against a running API, deployed or embedded: `make smoke URL=<ApiUrl>` (IAM-signed with the
caller's AWS credentials) or `make smoke URL=<local url> TOKEN=<bearer>` (the embedded default).

1. ``GET /openapi.json`` answers the document; 2. ``POST /accounts`` creates ``smoke-<random>`` (with a
signing key of its own); 3. ``GET /accounts/{id}``, its ``/health`` and ``GET /accounts`` find it; 4. a webhook delivery
signed with that key is not refused for its signature, and one signed with another key is (401); 5. a
field key issued for the account reads its interventions (no IAM signature: a plain bearer, as the
field app sends it), is refused on a management route (403), and once revoked gets 401.
The account stays, marked by its name, so a run can be looked at afterwards (its field key revoked).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import secrets
import sys
from collections.abc import Callable
from typing import Any

import httpx

Call = Callable[[str, str, Any], httpx.Response]
SIGNATURE_HEADER = "X-Webhook-Signature"  # hex SHA-1 of signing key + raw body, as Sellsy signs deliveries


def bearer_caller(base_url: str, token: str) -> Call:
    def call(method: str, path: str, body: Any = None) -> httpx.Response:
        return httpx.request(
            method, base_url + path, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )

    return call


def signed_caller(base_url: str) -> Call:
    from infra.signed_call import call as signed

    def call(method: str, path: str, body: Any = None) -> httpx.Response:
        return signed(method, base_url + path, None if body is None else json.dumps(body))

    return call


def _check(step: str, ok: bool, answer: httpx.Response) -> None:
    print(f"{'ok  ' if ok else 'FAIL'} {step}: {answer.status_code}")
    if not ok:
        raise SystemExit(f"smoke failed at {step}: {answer.status_code} {answer.text[:300]}")


def run(base_url: str, call: Call) -> str:
    base_url = base_url.rstrip("/")
    document = httpx.get(base_url + "/openapi.json", timeout=30)
    _check("openapi", document.status_code == 200 and "paths" in document.json(), document)
    account_id = f"smoke-{secrets.token_hex(4)}"
    key = secrets.token_hex(24)
    created = call("POST", "/accounts", {"id": account_id, "name": "smoke test", "webhook_signing_key": key})
    _check("create account", created.status_code == 201, created)
    read = call("GET", f"/accounts/{account_id}", None)
    _check("read account", read.status_code == 200 and read.json().get("id") == account_id, read)
    health = call("GET", f"/accounts/{account_id}/health", None)
    _check("account health", health.status_code == 200, health)
    listed = call("GET", "/accounts", None)
    _check("list accounts", listed.status_code == 200 and account_id in listed.text, listed)
    body = json.dumps({"eventType": "smoke", "relatedobject": {"type": "smoke", "id": 0}}).encode()

    def deliver(sign_key: str) -> httpx.Response:
        signature = hashlib.sha1(sign_key.encode() + body, usedforsecurity=False).hexdigest()
        headers = {SIGNATURE_HEADER: signature, "content-type": "application/json"}
        return httpx.post(f"{base_url}/webhooks/sellsy/{account_id}", content=body, headers=headers, timeout=30)

    wrong = deliver(secrets.token_hex(24))
    _check("webhook, wrong signature refused", wrong.status_code == 401, wrong)
    right = deliver(key)
    _check("webhook, signature accepted", right.status_code not in (401, 403) and right.status_code < 500, right)
    check_field_key(base_url, call, account_id)
    return account_id


def check_field_key(base_url: str, call: Call, account_id: str) -> None:
    issued = call("POST", f"/accounts/{account_id}/field-keys", {"label": "smoke test"})
    _check("issue a field key", issued.status_code == 201 and "key" in issued.json(), issued)
    field = bearer_caller(base_url, issued.json()["key"])
    own = field("GET", f"/accounts/{account_id}/interventions", None)
    _check("field key reads its account", own.status_code == 200, own)
    management = field("GET", "/accounts", None)
    # In AWS API Gateway itself refuses the unsigned call (403); locally the function does (403 forbidden).
    _check("field key refused on management", management.status_code == 403, management)
    revoked = call("DELETE", f"/accounts/{account_id}/field-keys/{issued.json()['key_id']}", None)
    _check("revoke the field key", revoked.status_code == 200, revoked)
    after = field("GET", f"/accounts/{account_id}/interventions", None)
    _check("revoked field key refused", after.status_code == 401, after)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.smoke")
    parser.add_argument("url", help="the API base URL (stack output ApiUrl, or the embedded default's)")
    parser.add_argument("--token", help="bearer token (embedded default); without it calls are IAM-signed")
    args = parser.parse_args(argv)
    call = bearer_caller(args.url, args.token) if args.token else signed_caller(args.url)
    print("smoke account:", run(args.url, call))
    return 0


if __name__ == "__main__":
    sys.exit(main())
