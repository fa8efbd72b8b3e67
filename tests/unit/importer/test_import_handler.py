import pytest

from bridge.handlers.import_step import BadImportEvent, lambda_handler
from infra.local.lambda_context import LocalContext


@pytest.mark.parametrize(
    "event",
    [
        {"action": "nope"},
        {},
        {"action": "chunk"},
        {"action": "chunk", "account_id": ""},
        {"action": "chunk", "account_id": 5},
    ],
)
def test_malformed_events_are_refused_before_any_work(event):
    with pytest.raises(BadImportEvent):
        lambda_handler(event, LocalContext("import"))
