"""Where the insights read from and what they may keep, from the environment.

The tracker store is the one Rasa runs with: the endpoints file that scripts/run writes
(build/endpoints.yml, from DB_* like config/endpoints.py), else endpoints.yml.

  INSIGHTS_TOKEN          when set, the page and JSON need it (sign-in form or
                          `Authorization: Bearer`); unset: loopback clients only
  INSIGHTS_TEXTS          "on" (default) lists the texts of unanswered messages;
                          "off" shows only their counts by kind of reply
  INSIGHTS_DAYS_KEPT      days of figures kept in the summary tables (default 90);
                          older rows are deleted, and texts older than that not shown
  INSIGHTS_ENDPOINTS      the endpoints file to read (default: as above)
"""
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional

import sqlalchemy as sa
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DAYS_KEPT = 90


class SettingsError(Exception):
    """A setting that cannot work; the message says which and why."""


@dataclass(frozen=True)
class Settings:
    db_url: sa.engine.URL
    token: Optional[str]
    keep_texts: bool
    days_kept: int


def _expand(value: str, env: Dict[str, str]) -> str:
    # Rasa expands ${VAR} in endpoint files the same way (passwords are written so).
    return re.sub(r"\$\{(\w+)\}", lambda m: env.get(m.group(1), ""), value)


def endpoints_file(env: Dict[str, str]) -> Path:
    if env.get("INSIGHTS_ENDPOINTS"):
        return Path(env["INSIGHTS_ENDPOINTS"])
    built = ROOT / "build" / "endpoints.yml"
    return built if built.exists() else ROOT / "endpoints.yml"


def db_url_from(tracker_store: dict, env: Dict[str, str]) -> sa.engine.URL:
    """The SQLAlchemy URL of an SQL tracker store's settings, as Rasa builds it."""
    store = {k: _expand(str(v), env) if isinstance(v, str) else v
             for k, v in tracker_store.items()}
    dialect = store.get("dialect") or "sqlite"
    if dialect == "sqlite":
        path = Path(store.get("db") or "rasa.db")
        if not path.is_absolute():
            path = ROOT / path  # scripts/run starts Rasa in the project folder
        return sa.engine.URL.create("sqlite", database=str(path))
    return sa.engine.URL.create(
        dialect, username=store.get("username") or None, password=store.get("password") or None,
        host=store.get("url") or None, port=int(store["port"]) if store.get("port") else None,
        database=store.get("db") or "rasa")


def load(env: Optional[Dict[str, str]] = None) -> Settings:
    env = dict(os.environ if env is None else env)
    path = endpoints_file(env)
    try:
        config = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as e:
        raise SettingsError(f"cannot read the endpoints file {path}: {e}")
    store = config.get("tracker_store") or {}
    kind = str(store.get("type") or "")
    if not (kind == "sql" or kind.endswith("SQLTrackerStore")):
        raise SettingsError(f"the tracker store in {path} is not an SQL store "
                            f"(type: {kind or 'in memory'}); the insights read an SQL store")
    texts = (env.get("INSIGHTS_TEXTS") or "on").strip().lower()
    if texts not in ("on", "off"):
        raise SettingsError(f"INSIGHTS_TEXTS must be on or off, got {texts!r}")
    raw_days = env.get("INSIGHTS_DAYS_KEPT") or str(DEFAULT_DAYS_KEPT)
    if not raw_days.isdigit() or not 1 <= int(raw_days) <= 3660:
        raise SettingsError(f"INSIGHTS_DAYS_KEPT must be a number of days (1-3660), "
                            f"got {raw_days!r}")
    return Settings(db_url=db_url_from(store, env), token=env.get("INSIGHTS_TOKEN") or None,
                    keep_texts=texts == "on", days_kept=int(raw_days))
