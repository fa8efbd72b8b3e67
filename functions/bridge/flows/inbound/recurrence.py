"""Recurring maintenance: a completed intervention under a recurrence rule schedules the next one (F4).

Called by the completion flow (outbound) once an intervention is ``completed``. The rule comes from
the account's custom-field rules: the first rule with a ``recurrence`` whose tag the intervention or
its customer carries. The next intervention's id derives from its parent (``est-1`` → ``est-1-r1``), so
calling this twice (retries, replays) never creates two.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bridge.adapters import accounts_repo, field_repo
from bridge.domain import custom_field_rules as cfr
from bridge.domain.accounts import Account, parse_recurrence
from bridge.domain.interventions import Intervention, next_occurrence
from bridge.flows.exchange_log import record_exchange
from bridge.observability import logger


def _moment(value: datetime | str | None, fallback: str | None) -> datetime:
    if isinstance(value, datetime):
        return value
    text = value or fallback
    if text:
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            logger.warning("unreadable completion date; using now", extra={"value": text[:40]})
    return datetime.now(UTC)


def schedule_next(
    account: Account | str, intervention: Intervention | str, completed_at: datetime | str | None = None
) -> Intervention | None:
    """Create the follow-up intervention when a recurrence applies; returns it (existing or new) or None."""
    account_obj = accounts_repo.get_account(account) if isinstance(account, str) else account
    if account_obj is None:
        return None
    current = (
        field_repo.get_intervention(account_obj.id, intervention) if isinstance(intervention, str) else intervention
    )
    if current is None or current.status != "completed":
        return None
    tags = set(current.tags)
    if current.customer_id:
        customer = field_repo.get_customer(account_obj.id, current.customer_id)
        tags |= set(customer.tags) if customer else set()
    rule = cfr.recurrence_for_tags(account_obj.settings.custom_field_rules, tags)
    if rule is None or not rule.recurrence:
        return None
    done = _moment(completed_at, current.completed_at)
    due = cfr.add_period(done, parse_recurrence(rule.recurrence)).isoformat()
    follow_up = next_occurrence(current, due_date=due, recurrence=rule.recurrence)
    if not field_repo.create_intervention(follow_up):
        return field_repo.get_intervention(account_obj.id, follow_up.id)
    record_exchange(
        account_id=account_obj.id,
        direction="internal",
        kind="intervention_scheduled",
        status="ok",
        sellsy_type=current.source_type,
        sellsy_id=current.source_id,
        field_id=follow_up.id,
        reason=f"recurrence {rule.recurrence} (tag {rule.tag}) after {current.id}, due {due}",
    )
    return follow_up
