"""A few seconds of memory for account reads on the hot paths (receiver, worker).

Every delivery needs its account; reading it once per few seconds instead of once per delivery keeps
the receiver fast. A missing account is never cached (a freshly created one must work at once), and a
status change reaches these paths within ``MAX_AGE_SECONDS``.
"""

from __future__ import annotations

import threading
import time

from bridge.adapters import accounts_repo
from bridge.domain.accounts import Account

MAX_AGE_SECONDS = 5.0
_lock = threading.Lock()
_cache: dict[str, tuple[float, Account]] = {}


def get_account(account_id: str, *, max_age: float = MAX_AGE_SECONDS) -> Account | None:
    now = time.monotonic()
    with _lock:
        hit = _cache.get(account_id)
    if hit and now - hit[0] < max_age:
        return hit[1]
    account = accounts_repo.get_account(account_id)
    with _lock:
        if account is None:
            _cache.pop(account_id, None)
        else:
            _cache[account_id] = (now, account)
    return account


def forget(account_id: str | None = None) -> None:
    with _lock:
        if account_id is None:
            _cache.clear()
        else:
            _cache.pop(account_id, None)
