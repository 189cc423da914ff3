#!/usr/bin/env python3
"""Checks the hand-off variables before `make run` starts anything (docs/handoff.md).

A half-configured transport (e.g. HANDOFF_SMTP_HOST without HANDOFF_EMAIL_TO) is an
error, exit status 2, like a half-configured Slack or Teams channel. Prints where
hand-offs go; never a password or the webhook's URL (it may hold a token).
"""
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from handoff.outbox import configuration_problems, transports  # noqa: E402


def main() -> int:
    problems = configuration_problems(os.environ)
    for problem in problems:
        print(f"check_handoff: {problem} (see docs/handoff.md)", file=sys.stderr)
    if problems:
        return 2
    names = transports(os.environ)
    if names:
        print(f"Hand-offs to the training team: {', '.join(names)}", file=sys.stderr)
    else:
        print("Hand-offs: none configured; users are told whom to contact "
              f"({os.environ.get('HANDOFF_CONTACT') or 'default sentence'})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
