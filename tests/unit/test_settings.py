"""The environment is checked when a handler loads: a bad value stops the cold start, naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import bridge
from bridge.settings import SELLSY_API_URL, Settings, SettingsError, load_settings

NAMES = [name.upper() for name in Settings.model_fields]


@pytest.fixture()
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_defaults_and_values_read_from_the_variables(clean_env: pytest.MonkeyPatch) -> None:
    assert load_settings().sellsy_api_url == SELLSY_API_URL
    clean_env.setenv("ACCOUNTS_TABLE", "stack-Accounts-1")
    clean_env.setenv("EXCHANGE_RETENTION_DAYS", "7")
    clean_env.setenv("SELLSY_API_URL", "http://127.0.0.1:9000/v2/")
    settings = load_settings()
    assert settings.accounts_table == "stack-Accounts-1" and settings.exchange_retention_days == 7
    assert settings.sellsy_api_url == "http://127.0.0.1:9000/v2"  # trailing slash dropped, as paths add their own


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("EXCHANGE_RETENTION_DAYS", "thirty"),
        ("EXCHANGE_RETENTION_DAYS", "0"),
        ("SELLSY_API_URL", "api.sellsy.com/v2"),
        ("PUBLIC_API_URL", "ftp://example.test"),
        ("ACCOUNTS_TABLE", " "),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable_not_its_value(
    clean_env: pytest.MonkeyPatch, name: str, value: str
) -> None:
    clean_env.setenv(name, value)
    with pytest.raises(SettingsError, match=name) as caught:
        load_settings()
    assert value.strip() == "" or value not in str(caught.value)


def test_a_handler_does_not_load_with_a_bad_variable() -> None:
    env = {k: v for k, v in os.environ.items() if k not in NAMES}
    functions_dir = str(Path(bridge.__file__).resolve().parents[1])
    env.update(EXCHANGE_RETENTION_DAYS="soon", AWS_DEFAULT_REGION="eu-west-3", PYTHONPATH=functions_dir)
    answer = subprocess.run(  # a fresh interpreter: what a cold start does
        [sys.executable, "-c", "import bridge.handlers.worker"], env=env, capture_output=True, text=True, check=False
    )
    assert answer.returncode != 0
    assert "SettingsError" in answer.stderr and "EXCHANGE_RETENTION_DAYS" in answer.stderr
