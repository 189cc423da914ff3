#!/usr/bin/env python3
"""Writes the credentials file `rasa run` uses: the base credentials.yml (web
channels) plus Slack and/or Microsoft Teams when their environment variables are set.

    config/credentials.py [--base credentials.yml] [--out build/credentials.yml]

Secrets never reach the file: it holds `${VAR}` references, which Rasa expands
from the environment when it reads the file. A channel with only some of its
required variables set is an error (exit status 2), not silently left off.

Slack: SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET; optional SLACK_API_URL.
Teams: TEAMS_APP_ID, TEAMS_APP_PASSWORD; optional TEAMS_TENANT_ID,
       TEAMS_OPENID_METADATA_URL, TEAMS_TOKEN_URL.
"""
import argparse
import os
import sys
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Tuple

import yaml

# channel key in the credentials file -> (required, optional) {credential: env var}
CHANNELS: Dict[str, Tuple[Dict[str, str], Dict[str, str]]] = {
    "channels.slack.SlackConnector": (
        {"slack_token": "SLACK_BOT_TOKEN", "slack_signing_secret": "SLACK_SIGNING_SECRET"},
        {"slack_api_url": "SLACK_API_URL"},
    ),
    "channels.teams.TeamsConnector": (
        {"app_id": "TEAMS_APP_ID", "app_password": "TEAMS_APP_PASSWORD"},
        {"tenant_id": "TEAMS_TENANT_ID", "openid_metadata_url": "TEAMS_OPENID_METADATA_URL",
         "token_url": "TEAMS_TOKEN_URL"},
    ),
}
# Names Rasa would also serve on the same webhook path; the base must not use them.
CONFLICTS = {"channels.slack.SlackConnector": {"slack", "rasa.core.channels.slack.SlackInput"},
             "channels.teams.TeamsConnector": {"botframework",
                                               "rasa.core.channels.botframework.BotFrameworkInput"}}


class ConfigError(Exception):
    pass


def channel_blocks(env: Mapping[str, str]) -> List[str]:
    """YAML blocks for the channels whose variables are set in `env`."""
    blocks = []
    for key, (required, optional) in CHANNELS.items():
        present = [var for var in required.values() if env.get(var)]
        if not present:
            continue
        missing = [var for var in required.values() if not env.get(var)]
        if missing:
            raise ConfigError(f"{key.split('.')[1]}: {', '.join(present)} set but "
                              f"{', '.join(missing)} missing")
        lines = [f"{key}:"]
        for credential, var in {**required, **optional}.items():
            if env.get(var):
                lines.append(f"  {credential}: ${{{var}}}")
        blocks.append("\n".join(lines) + "\n")
    return blocks


def build(base_text: str, env: Mapping[str, str]) -> Tuple[str, List[str]]:
    """The credentials file's text and the names of the channels it enables."""
    base = yaml.safe_load(base_text) or {}
    if not isinstance(base, dict):
        raise ConfigError("the base credentials file is not a mapping")
    blocks = channel_blocks(env)
    for block in blocks:
        key = block.split(":", 1)[0]
        clash = ({key} | CONFLICTS[key]) & set(base)
        if clash:
            raise ConfigError(f"the base credentials file already defines {sorted(clash)}")
    text = base_text.rstrip("\n") + "\n"
    if blocks:
        text += "\n# Added by config/credentials.py from environment variables.\n"
        text += "".join(blocks)
    result = yaml.safe_load(text) or {}
    return text, list(result)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="credentials.yml")
    parser.add_argument("--out", default="build/credentials.yml")
    args = parser.parse_args(argv)
    try:
        text, names = build(Path(args.base).read_text(), os.environ)
    except (ConfigError, OSError, yaml.YAMLError) as e:
        print(f"make_credentials: {e}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(out)
    # "channels.slack.SlackConnector" -> "slack"; built-in names ("rest") as they are.
    short = [n.split(".")[-2] if "." in n else n for n in names]
    print(f"Channels: {', '.join(short) or 'none'} ({out})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
