"""Typed errors for everything that can go wrong talking to Sellsy.

Sellsy answers errors as ``{"error": {"code", "message", "context", "details"}}``; ``details`` names the
invalid fields on a 400 and is kept so callers can show it (exchange log, API answers).
"""

from __future__ import annotations

from typing import Any

from bridge.sellsy.scopes import required_scope


class SellsyError(Exception):
    """Base class: ``status`` is the HTTP status when Sellsy answered, else None."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        details: dict[str, Any] | None = None,
        context: str | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.details = details or {}
        self.context = context
        self.method = method
        self.path = path

    def to_dict(self) -> dict[str, Any]:
        """A loggable summary (no request body, no token)."""
        return {
            "type": type(self).__name__,
            "status": self.status,
            "message": self.message,
            "details": self.details,
            "method": self.method,
            "path": self.path,
        }


class ValidationFailed(SellsyError):
    """400: Sellsy refused the payload; ``details`` maps field -> problem."""


class NeedsReconnect(SellsyError):
    """Credentials no longer work (invalid_grant, 401 after one refresh): the account must reconnect."""


class PaymentRequired(SellsyError):
    """402: a limit of the Sellsy plan was reached (e.g. creating custom fields or pipelines over the plan's
    quota). The credentials are fine: only the action that hit the limit stops, and it is retried later."""


class Forbidden(SellsyError):
    """403: the token's user lacks the privilege or the OAuth scope; ``scope`` names the scope the route
    needs (from Sellsy's API description), when known."""

    @property
    def scope(self) -> str | None:
        return required_scope(self.method, self.path)


class NotFound(SellsyError):
    """404."""


class Conflict(SellsyError):
    """409: the request conflicts with the object's current state (e.g. invoice already validated)."""


class PayloadTooLarge(SellsyError):
    """413 from Sellsy, or a file refused before sending because it exceeds the 15 MB limit."""


class RateLimited(SellsyError):
    """429 that persisted after the allowed waits."""


class SellsyUnavailable(SellsyError):
    """5xx or transport failure on a call that is safe to repeat later (reads, token fetches)."""


class WriteOutcomeUnknown(SellsyError):
    """A create/update was sent but its outcome is unknown (5xx, timeout, dropped connection).

    Never re-send blindly: the caller's ledger must first look for the object (by its marker).
    """


class QuotaReserveReached(SellsyError):
    """The day's remaining quota reached the reserve this client must leave for others: stop, resume later."""


class InvalidFilter(SellsyError):
    """A search filter name that the route does not accept (Sellsy would silently ignore it)."""


class InvalidTokenResponse(SellsyError):
    """The token endpoint answered something that is not a token."""


_BY_STATUS: dict[int, type[SellsyError]] = {
    400: ValidationFailed,
    401: NeedsReconnect,
    402: PaymentRequired,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    429: RateLimited,
}


def error_from_response(status: int, body: Any, *, method: str | None = None, path: str | None = None) -> SellsyError:
    """Build the typed error for a non-2xx answer from its status and (parsed) JSON body."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        message = str(error.get("message") or f"HTTP {status}")
        details = error.get("details") if isinstance(error.get("details"), dict) else None
        context = str(error["context"]) if error.get("context") is not None else None
    else:
        message, details, context = f"HTTP {status}", None, None
    cls = _BY_STATUS.get(status, SellsyUnavailable if status >= 500 else SellsyError)
    if status == 402:
        message = f"Sellsy plan limit reached (402): {message}; retried later"
    elif status == 403:
        scope = required_scope(method, path)
        if scope:
            message = f"{message} (this needs the Sellsy scope {scope})"
    return cls(message, status=status, details=details, context=context, method=method, path=path)
