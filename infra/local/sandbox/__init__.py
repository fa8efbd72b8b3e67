"""A local Sellsy API v2 sandbox (never shipped): `Sandbox(SandboxConfig(seed=7, size=40)).start()`.

Serves Sellsy's routes under `/v2`, OAuth2 under `/oauth2`, and control endpoints under `/_sandbox/`
(reset, state snapshot, call counters, faults, quotas, acting as a user). See README in this folder.
"""

from __future__ import annotations

import threading
from typing import Any

import httpx

from infra.local.sandbox.app import SandboxApp, _Server
from infra.local.sandbox.config import FaultConfig, QuotaConfig, SandboxConfig
from infra.local.sandbox.recorder import Exchange

__all__ = ["Exchange", "FaultConfig", "QuotaConfig", "Sandbox", "SandboxConfig"]


class Snapshot(list[Any]):
    """A list of objects of one type that also answers `snapshot[type]` with itself."""

    def __init__(self, kind: str, items: list[Any]) -> None:
        super().__init__(items)
        self.kind = kind

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            if key != self.kind:
                raise KeyError(key)
            return self
        return super().__getitem__(key)


class Sandbox:
    """Owns one sandbox server; control helpers call its `/_sandbox/` endpoints over HTTP."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.app = SandboxApp(self.config)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.url = ""
        self._http: httpx.Client | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self, host: str = "127.0.0.1", port: int = 0) -> Sandbox:
        self._server = _Server((host, port), self.app)
        bound_port = self._server.server_address[1]
        self.url = f"http://{host}:{bound_port}"
        self.app.base_url = self.url
        self.app.webhooks.start()
        self._thread = threading.Thread(target=self._server.serve_forever, name="sellsy-sandbox", daemon=True)
        self._thread.start()
        self._http = httpx.Client(base_url=self.url, timeout=30)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self.app.webhooks.stop()
        if self._http is not None:
            self._http.close()
            self._http = None

    def __enter__(self) -> Sandbox:
        return self if self._server else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- connection facts ------------------------------------------------------------------------
    @property
    def api_url(self) -> str:
        return f"{self.url}/v2"

    @property
    def token_url(self) -> str:
        return f"{self.url}/oauth2/access-tokens"

    @property
    def authorize_url(self) -> str:
        return f"{self.url}/oauth2/authorization"

    @property
    def client_id(self) -> str:
        return self.app.auth.clients["personal"].client_id

    @property
    def client_secret(self) -> str:
        return self.app.auth.clients["personal"].client_secret

    @property
    def auth_code_client_id(self) -> str:
        """Client for authorization_code + PKCE (a Sellsy "private" client)."""
        return self.app.auth.clients["private"].client_id

    @property
    def auth_code_client_secret(self) -> str:
        return self.app.auth.clients["private"].client_secret

    @property
    def corp_id(self) -> int:
        return self.config.account_corp_id

    def credentials(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "api_url": self.api_url,
            "token_url": self.token_url,
            "authorize_url": self.authorize_url,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "auth_code_client_id": self.auth_code_client_id,
            "auth_code_client_secret": self.auth_code_client_secret,
            "corp_id": self.corp_id,
        }

    def access_token(self) -> str:
        """A fresh client_credentials token (convenience for tests)."""
        response = self._control().post(
            "/oauth2/access-tokens",
            json={
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self.client_secret,
            },
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    # -- control helpers -------------------------------------------------------------------------
    def _control(self) -> httpx.Client:
        if self._http is None:
            raise RuntimeError("sandbox is not started")
        return self._http

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._control().request(method, f"/_sandbox{path}", **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def reset(self) -> None:
        self._call("POST", "/reset")

    def state(self, kind: str | None = None) -> Any:
        """Snapshot of the whole state (dict by type), or of one type as a list of objects.

        `sb.state("invoices")` is the list; `sb.state("invoices")["invoices"]` gives the same list
        (both spellings are in use).
        """
        if not kind:
            return self._call("GET", "/state")
        return Snapshot(kind, self._call("GET", "/state", params={"type": kind})[kind])

    def calls(self) -> dict[str, Any]:
        return dict(self._call("GET", "/calls"))

    def reset_calls(self) -> None:
        self._call("DELETE", "/calls")

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        return dict(self._call("POST", "/faults", json=faults))

    def clear_faults(self) -> dict[str, Any]:
        return self.set_faults(**FaultConfig().as_dict())

    def set_quotas(self, **quotas: Any) -> dict[str, Any]:
        return dict(self._call("POST", "/quotas", json=quotas))

    def expire_tokens(self) -> int:
        return int(self._call("POST", "/tokens/expire")["expired"])

    def act(self, action: str, **body: Any) -> Any:
        return self._call("POST", f"/act/{action}", json=body)

    def act_set_estimate_status(self, estimate_id: int, status: str) -> Any:
        return self.act("estimate-status", id=estimate_id, status=status)

    def act_set_opportunity_status(self, opportunity_id: int, status: str) -> Any:
        return self.act("opportunity-status", id=opportunity_id, status=status)

    def act_edit(self, kind: str, object_id: int, **fields: Any) -> Any:
        """Edit a company, individual, contact or address (kind) as a user would; emits webhooks."""
        return self.act("edit", type=kind, id=object_id, fields=fields)

    def act_edit_invoice(self, invoice_id: int, **fields: Any) -> Any:
        return self.act("edit-invoice", id=invoice_id, fields=fields)

    def act_delete_document(self, kind: str, document_id: int) -> Any:
        return self.act("delete-document", type=kind, id=document_id)

    def act_mutate(self, fraction: float, kind: str = "invoice", salt: int = 0) -> list[int]:
        """Change `fraction` of the documents of `kind` deterministically; returns their ids."""
        return list(self.act("mutate", type=kind, fraction=fraction, salt=salt)["ids"])

    def webhook_log(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/webhooks/log"))

    def wait_webhooks_idle(self, timeout: float = 10.0) -> bool:
        return bool(self._call("POST", "/webhooks/wait", json={"timeout": timeout})["idle"])

    def exchanges(self) -> list[Exchange]:
        """Deduplicated sample of recorded `/v2` exchanges (for contract validation)."""
        return self.app.recorder.exchanges()
