"""Settings pages over real HTTP on the embedded default: general values, triggers and rules one at a time
(the others untouched, concurrent edits refused, not overwritten), validation on save, preview."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest

from tests.integration.console.conftest import Browser

pytestmark = [pytest.mark.e2e]

TRIGGERS = [
    {
        "name": "invoice",
        "when": {"status": "completed", "has_estimate": True},
        "actions": [{"type": "convert_quote", "validate": False}],
    },
    {
        "name": "comment",
        "when": {"status": "completed"},
        "actions": [{"type": "add_comment", "target": "estimate", "template": "Done by {technician}."}],
    },
    {"name": "report", "actions": [{"type": "upload_report", "target": "opportunity"}]},
]
RULES = [{"custom_field": "annual-contract", "equals": True, "tag": "annual", "recurrence": "P1Y"}]


@pytest.fixture
def account(console_stack: Any) -> str:
    account_id = f"st-{uuid.uuid4().hex[:10]}"
    with httpx.Client(
        base_url=console_stack.api_url, headers={"Authorization": f"Bearer {console_stack.api_token}"}
    ) as api:
        created = api.post(
            "/accounts",
            json={
                "id": account_id,
                "name": "Settings Co",
                "settings": {"triggers": TRIGGERS, "custom_field_rules": RULES},
            },
        )
        assert created.status_code == 201, created.text
    return account_id


def stored(console_stack: Any, account_id: str) -> dict[str, Any]:
    answer = httpx.get(
        f"{console_stack.api_url}/accounts/{account_id}",
        headers={"Authorization": f"Bearer {console_stack.api_token}"},
    )
    return dict(answer.json()["settings"])


def edit_link(page: str, kind: str, name: str) -> str:
    row = re.search(rf'<tr data-{kind}="{re.escape(name)}">(.*?)</tr>', page, re.S)
    assert row, page
    found = re.search(r'href="([^"]+/edit\?entry=[0-9a-f]+)"', row.group(1))
    assert found
    return found.group(1)


def form_fields(page: str) -> dict[str, str]:
    """What a browser would post back unchanged: inputs, selected options and textareas."""
    fields: dict[str, str] = {}
    for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page):
        fields[name] = value.replace("&amp;", "&").replace("&#34;", '"').replace("&#39;", "'")
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', body)
        fields[name] = chosen.group(1) if chosen else ""
    for name, body in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', page, re.S):
        fields[name] = body
    for name in re.findall(r'<input[^>]*name="([^"]+)"[^>]*type="checkbox"[^>]*checked', page):
        fields[name] = "on"
    return fields


def test_edit_one_trigger_and_the_others_stay_exactly_as_they_were(
    signed_in: Browser, console_stack: Any, account: str
) -> None:
    before = stored(console_stack, account)
    page = signed_in.get(f"/console/accounts/{account}/settings")
    form = signed_in.get(edit_link(page.text, "trigger", "comment"))
    fields = form_fields(form.text)
    assert fields["action_0_template"] == "Done by {technician}."
    fields["action_0_template"] = "Intervention {number} done by {technician} on {completed_date}."
    saved = signed_in.post(f"/console/accounts/{account}/settings/triggers", fields)
    assert saved.status_code == 303, saved.text
    after_page = signed_in.get(saved.headers["location"])
    assert "Intervention INT-0042 done by Camille Martin on 2026-03-14." in after_page.text  # sample rendering
    after = stored(console_stack, account)
    assert after["triggers"][0] == before["triggers"][0] and after["triggers"][2] == before["triggers"][2]
    assert after["triggers"][1]["actions"][0]["template"].startswith("Intervention {number}")
    assert after["custom_field_rules"] == before["custom_field_rules"]


def test_a_template_typo_is_refused_on_save_and_nothing_changes(
    signed_in: Browser, console_stack: Any, account: str
) -> None:
    before = stored(console_stack, account)
    page = signed_in.get(f"/console/accounts/{account}/settings")
    fields = form_fields(signed_in.get(edit_link(page.text, "trigger", "comment")).text)
    fields["action_0_template"] = "Done by {technicien}."
    refused = signed_in.post(f"/console/accounts/{account}/settings/triggers", fields)
    assert refused.status_code == 400
    assert "unknown field(s) {technicien}" in refused.text
    assert "Done by {technicien}." in refused.text  # what was typed stays in the form to correct
    assert stored(console_stack, account) == before
    # The JSON API refuses the same typo.
    patch = httpx.patch(
        f"{console_stack.api_url}/accounts/{account}",
        headers={"Authorization": f"Bearer {console_stack.api_token}"},
        json={
            "settings": {
                "triggers": [{**TRIGGERS[1], "actions": [{**TRIGGERS[1]["actions"][0], "template": "{oops}"}]}]
            }
        },
    )
    assert patch.status_code == 422 and "comment template" in patch.text


def test_two_editors_of_the_same_trigger_the_second_is_refused_not_silently_applied(
    signed_in: Browser, console_stack: Any, account: str
) -> None:
    page = signed_in.get(f"/console/accounts/{account}/settings")
    link = edit_link(page.text, "trigger", "report")
    first, second = form_fields(signed_in.get(link).text), form_fields(signed_in.get(link).text)
    first["action_0_target"] = "estimate"
    assert signed_in.post(f"/console/accounts/{account}/settings/triggers", first).status_code == 303
    second["name"] = "report-renamed"
    late = signed_in.post(f"/console/accounts/{account}/settings/triggers", second)
    assert late.status_code == 409 and "changed or removed by someone else" in late.text
    names = [t["name"] for t in stored(console_stack, account)["triggers"]]
    assert names == ["invoice", "comment", "report"]


def test_an_edit_of_another_entry_meanwhile_is_kept(signed_in: Browser, console_stack: Any, account: str) -> None:
    page = signed_in.get(f"/console/accounts/{account}/settings")
    comment_form = form_fields(signed_in.get(edit_link(page.text, "trigger", "comment")).text)
    invoice_form = form_fields(signed_in.get(edit_link(page.text, "trigger", "invoice")).text)
    invoice_form["action_0_validate"] = "on"
    assert signed_in.post(f"/console/accounts/{account}/settings/triggers", invoice_form).status_code == 303
    comment_form["when_has_report"] = "yes"
    assert signed_in.post(f"/console/accounts/{account}/settings/triggers", comment_form).status_code == 303
    triggers = stored(console_stack, account)["triggers"]
    assert triggers[0]["actions"][0]["validate"] is True  # the first editor's change survived
    assert triggers[1]["when"]["has_report"] is True


def test_add_and_delete_a_trigger_after_confirmation(signed_in: Browser, console_stack: Any, account: str) -> None:
    token = signed_in.csrf(f"/console/accounts/{account}/settings/triggers/new")
    added = signed_in.post(
        f"/console/accounts/{account}/settings/triggers",
        {"csrf_token": token, "name": "items", "when_has_used_items": "yes", "action_0_type": "invoice_from_items"},
    )
    assert added.status_code == 303, added.text
    duplicate = signed_in.post(
        f"/console/accounts/{account}/settings/triggers",
        {"csrf_token": token, "name": "items", "action_0_type": "upload_report", "action_0_target": "estimate"},
    )
    assert duplicate.status_code == 400 and "trigger names must be unique" in duplicate.text
    page = signed_in.get(f"/console/accounts/{account}/settings")
    entry = re.search(r'triggers/delete\?entry=([0-9a-f]+)">', page.text.split('data-trigger="invoice"')[1]).group(1)
    confirm = signed_in.get(f"/console/accounts/{account}/settings/triggers/delete?entry={entry}")
    assert confirm.status_code == 200 and "the others stay as they are" in confirm.text
    deleted = signed_in.post(
        f"/console/accounts/{account}/settings/triggers/delete", {"csrf_token": token, "entry": entry}
    )
    assert deleted.status_code == 303
    assert [t["name"] for t in stored(console_stack, account)["triggers"]] == ["comment", "report", "items"]
    again = signed_in.post(
        f"/console/accounts/{account}/settings/triggers/delete", {"csrf_token": token, "entry": entry}
    )
    assert again.status_code == 409


def test_general_values_are_validated_and_saved(signed_in: Browser, console_stack: Any, account: str) -> None:
    before = stored(console_stack, account)
    fields = form_fields(signed_in.get(f"/console/accounts/{account}/settings").text)
    general = {
        k: fields[k]
        for k in ("csrf_token", "read_etag", "base_currency", "sync_direction", "deep_link_host", "daily_quota_reserve")
    }
    bad = signed_in.post(f"/console/accounts/{account}/settings/general", {**general, "base_currency": "EURO"})
    assert bad.status_code == 400 and "3-letter ISO 4217" in bad.text
    good = signed_in.post(
        f"/console/accounts/{account}/settings/general",
        {
            **general,
            "base_currency": "chf",
            "sync_direction": "both",
            "deep_link_host": "www.sellsy.fr",
            "daily_quota_reserve": "500",
        },
    )
    assert good.status_code == 303
    settings = stored(console_stack, account)
    assert (
        settings["base_currency"],
        settings["sync_direction"],
        settings["deep_link_host"],
        settings["daily_quota_reserve"],
    ) == ("CHF", "both", "www.sellsy.fr", 500)
    assert settings["triggers"] == before["triggers"] and settings["custom_field_rules"] == before["custom_field_rules"]
    stale = signed_in.post(f"/console/accounts/{account}/settings/general", general)  # read before the save
    assert stale.status_code == 409


def test_rules_one_at_a_time(signed_in: Browser, console_stack: Any, account: str) -> None:
    token = signed_in.csrf(f"/console/accounts/{account}/settings/rules/new")
    bad = signed_in.post(
        f"/console/accounts/{account}/settings/rules",
        {"csrf_token": token, "custom_field": "visits", "tag": "x", "recurrence": "yearly"},
    )
    assert bad.status_code == 400 and "ISO 8601" in bad.text
    added = signed_in.post(
        f"/console/accounts/{account}/settings/rules",
        {"csrf_token": token, "custom_field": "plan", "equals": "Gold", "attribute": "plan"},
    )
    assert added.status_code == 303
    rules = stored(console_stack, account)["custom_field_rules"]
    first = rules[0]
    assert first["custom_field"] == "annual-contract" and rules[1]["equals"] == "Gold"
    page = signed_in.get(f"/console/accounts/{account}/settings")
    fields = form_fields(signed_in.get(edit_link(page.text, "rule", "plan")).text)
    fields["equals"] = "Platinum"
    assert signed_in.post(f"/console/accounts/{account}/settings/rules", fields).status_code == 303
    rules = stored(console_stack, account)["custom_field_rules"]
    assert rules[0] == first and rules[1]["equals"] == "Platinum"


def test_preview_on_the_sample_and_on_a_missing_intervention(signed_in: Browser, account: str) -> None:
    page = signed_in.get(f"/console/accounts/{account}/settings")
    entry = edit_link(page.text, "trigger", "comment").split("entry=")[1]
    preview = signed_in.get(f"/console/accounts/{account}/settings/triggers/preview?entry={entry}&intervention=sample")
    assert preview.status_code == 200
    assert "The conditions hold" in preview.text and "Done by Camille Martin." in preview.text
    missing = signed_in.get(f"/console/accounts/{account}/settings/triggers/preview?entry={entry}&intervention_id=nope")
    assert missing.status_code == 404 and "No intervention has this id." in missing.text


def test_preview_on_one_of_the_accounts_interventions(signed_in: Browser, account: str) -> None:
    from bridge.adapters import field_repo
    from bridge.domain.interventions import Intervention

    field_repo.create_intervention(
        Intervention(
            id=f"{account}-i1",
            account_id=account,
            status="completed",
            source_type="estimate",
            source_id=77,
            estimate_id=77,
            number="D-0077",
            subject="Leak under the sink",
            completed_at="2026-11-30T09:00:00+00:00",
        )
    )
    page = signed_in.get(f"/console/accounts/{account}/settings")
    entry = edit_link(page.text, "trigger", "invoice").split("entry=")[1]
    chooser = signed_in.get(f"/console/accounts/{account}/settings/triggers/preview?entry={entry}")
    assert f'<option value="{account}-i1"' in chooser.text and "D-0077" in chooser.text
    preview = signed_in.get(
        f"/console/accounts/{account}/settings/triggers/preview?entry={entry}&intervention={account}-i1"
    )
    assert "The conditions hold" in preview.text and "Turn the quote into an invoice" in preview.text
    assert "the quote 77" in preview.text
