"""Route modules of the sandbox; each registers its handlers on the app's router."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from infra.local.sandbox.app import SandboxApp


def register(app: SandboxApp) -> None:
    from infra.local.sandbox.routes import catalog, control, crm, documents, misc

    for module in (crm, catalog, documents, misc, control):
        module.register(app)
