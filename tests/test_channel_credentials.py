"""config/credentials.py: Slack and Teams are on exactly when their
environment variables are set, and secrets are never written to the file."""
import subprocess
import sys
from pathlib import Path
from typing import Dict, Tuple

import pytest

from devstack import ROOT

SCRIPT = ROOT / "config" / "credentials.py"
SLACK = {"SLACK_BOT_TOKEN": "xoxb-1-secret", "SLACK_SIGNING_SECRET": "signing-secret"}
TEAMS = {"TEAMS_APP_ID": "app-id", "TEAMS_APP_PASSWORD": "app-password-secret"}


def make(tmp_path: Path, env: Dict[str, str], base: str = "rest:\n") -> Tuple[int, str, str]:
    (tmp_path / "base.yml").write_text(base)
    out = tmp_path / "out" / "credentials.yml"
    done = subprocess.run([sys.executable, str(SCRIPT), "--base", str(tmp_path / "base.yml"),
                           "--out", str(out)], env={"PATH": "/usr/bin:/bin", **env},
                          capture_output=True, text=True)
    return done.returncode, out.read_text() if out.exists() else "", done.stderr


def channels(text: str, env: Dict[str, str], monkeypatch, tmp_path: Path) -> Dict[str, object]:
    """The connectors Rasa itself would create from this file and environment."""
    from rasa.core.run import create_http_input_channels

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    path = tmp_path / "read-by-rasa.yml"
    path.write_text(text)
    return {c.name(): c for c in create_http_input_channels(None, str(path))}


def test_no_variables_web_channels_only(tmp_path, monkeypatch):
    base = "# web channels\nrest:\n"
    rc, text, err = make(tmp_path, {}, base)
    assert rc == 0 and text == base and "Channels: rest" in err
    assert set(channels(text, {}, monkeypatch, tmp_path)) == {"rest"}


def test_both_channels_from_environment_without_secrets_on_disk(tmp_path, monkeypatch):
    env = {**SLACK, **TEAMS, "TEAMS_TENANT_ID": "contoso", "SLACK_API_URL": "http://x/api"}
    rc, text, err = make(tmp_path, env)
    assert rc == 0, err
    for value in env.values():
        assert value not in text
    assert "slack_token: ${SLACK_BOT_TOKEN}" in text and "tenant_id: ${TEAMS_TENANT_ID}" in text
    assert "openid_metadata_url" not in text  # optional and unset: left out
    made = channels(text, env, monkeypatch, tmp_path)
    assert set(made) == {"rest", "slack", "botframework"}
    slack, teams = made["slack"], made["botframework"]
    assert type(slack).__module__ == "channels.slack"
    assert slack.slack_token == SLACK["SLACK_BOT_TOKEN"]
    assert slack.slack_signing_secret == SLACK["SLACK_SIGNING_SECRET"]
    assert slack.slack_api_url == "http://x/api/"
    assert type(teams).__module__ == "channels.teams"
    assert teams.app_password == TEAMS["TEAMS_APP_PASSWORD"]
    assert teams.token_url == "https://login.microsoftonline.com/contoso/oauth2/v2.0/token"


def test_slack_defaults_to_slacks_api(tmp_path, monkeypatch):
    rc, text, _ = make(tmp_path, SLACK)
    assert rc == 0
    made = channels(text, SLACK, monkeypatch, tmp_path)
    assert set(made) == {"rest", "slack"}
    assert made["slack"].slack_api_url == "https://slack.com/api/"


@pytest.mark.parametrize("env", [{"SLACK_BOT_TOKEN": "x"}, {"SLACK_SIGNING_SECRET": "x"},
                                 {"TEAMS_APP_ID": "x"}, {**SLACK, "TEAMS_APP_PASSWORD": "x"}])
def test_half_configured_channel_is_an_error(tmp_path, env):
    rc, text, err = make(tmp_path, env)
    assert rc == 2 and text == "" and "missing" in err


def test_base_file_must_not_define_the_same_webhook(tmp_path):
    rc, _, err = make(tmp_path, SLACK, "rest:\nslack:\n  slack_token: x\n")
    assert rc == 2 and "already defines" in err
