#!/usr/bin/env python3
"""Writes the endpoints file Rasa runs with, from environment variables.

    config/endpoints.py [--out build/endpoints.yml] [--check] [--wait SECONDS]

Without any of the variables below, the result is equivalent to endpoints.yml
(embedded SQLite tracker store, in-memory lock store): `make run` needs no service.

Tracker store: PostgreSQL when DB_HOST is set.
    DB_HOST       host name or IP of PostgreSQL (switches PostgreSQL on)
    DB_PORT       default 5432
    DB_USER       default postgres
    DB_PASSWORD   optional; written as ${DB_PASSWORD}, Rasa reads it at start-up
    DB_NAME       default rasa
    DB_LOGIN_DB   optional; an existing database to log in to first, so that Rasa
                  creates DB_NAME when it is missing (e.g. "postgres")
Lock store: Redis when REDIS_HOST or REDIS_URL is set (needed for several replicas).
    REDIS_URL         redis://[user@]host[:port][/db] (rediss:// for TLS); no password
                      in it, use REDIS_PASSWORD
    REDIS_HOST        alternative to REDIS_URL
    REDIS_PORT        default 6379
    REDIS_DB          default 1
    REDIS_PASSWORD    optional; written as ${REDIS_PASSWORD}
    REDIS_KEY_PREFIX  optional, letters and digits only
    REDIS_LOCK_STORE  "atomic" (default): stores/redis_lock.py, which serialises a
                      conversation across processes; "stock": Rasa's RedisLockStore,
                      which does not (issue 16), for comparisons only
Action server:
    ACTION_ENDPOINT_URL  default: the action_endpoint of endpoints.yml
Browsers:
    CORS_ORIGINS  space-separated web origins allowed to call Rasa; "*" is refused
                  here (`cors_origins`, used by every launcher and web/app.py)

Secrets never reach the file: passwords are written as ${VAR} references that
Rasa expands from its own environment when it reads the file.

--check connects to the configured PostgreSQL and Redis and prints a clear error
(host and port, never a password) when one is unreachable; exit status 2.
--wait SECONDS keeps retrying --check that long before giving up.
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "endpoints.yml"
GENERATED = ("action_endpoint", "tracker_store", "lock_store")
# Rasa's SQL tracker store with an in-memory copy of recent conversations (stores/).
TRACKER_STORE = "stores.cached_sql.CachedSQLTrackerStore"
# Rasa's ticket lock kept in Redis with atomic scripts (stores/redis_lock.py): Rasa's own
# `type: redis` lets two processes hold one conversation and loses messages.
LOCK_STORE = "stores.redis_lock.RedisTicketLockStore"
LOCK_STORES = {"atomic": LOCK_STORE, "stock": "redis"}


class ConfigError(Exception):
    pass


def cors_origins(env: Dict[str, str]) -> List[str]:
    """The origins of CORS_ORIGINS; "*" (any web page may call the bot) is refused."""
    origins = env.get("CORS_ORIGINS", "").split()
    if "*" in origins:
        raise ConfigError("CORS_ORIGINS must list origins, not '*'.")
    return origins


def _q(value: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(str(value))


def _int(env: Dict[str, str], name: str, default: int) -> int:
    raw = env.get(name) or str(default)
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}")


def postgres_settings(env: Dict[str, str]) -> Optional[dict]:
    if not env.get("DB_HOST"):
        return None
    return {
        "host": env["DB_HOST"],
        "port": _int(env, "DB_PORT", 5432),
        "user": env.get("DB_USER") or "postgres",
        "db": env.get("DB_NAME") or "rasa",
        "login_db": env.get("DB_LOGIN_DB") or None,
        "has_password": bool(env.get("DB_PASSWORD")),
    }


def redis_settings(env: Dict[str, str]) -> Optional[dict]:
    url = env.get("REDIS_URL")
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss"):
            raise ConfigError("REDIS_URL must start with redis:// or rediss://")
        if parts.password:
            raise ConfigError("REDIS_URL must not contain a password (it would be "
                              "written to disk): put it in REDIS_PASSWORD instead")
        db = parts.path.strip("/") or env.get("REDIS_DB") or "1"
        if not db.isdigit():
            raise ConfigError(f"the database in REDIS_URL must be a number, got {db!r}")
        settings = {"host": parts.hostname or "localhost", "port": parts.port or 6379,
                    "db": int(db), "username": parts.username, "ssl": parts.scheme == "rediss"}
    elif env.get("REDIS_HOST"):
        settings = {"host": env["REDIS_HOST"], "port": _int(env, "REDIS_PORT", 6379),
                    "db": _int(env, "REDIS_DB", 1), "username": None, "ssl": False}
    else:
        return None
    prefix = env.get("REDIS_KEY_PREFIX")
    if prefix and not prefix.isalnum():
        raise ConfigError("REDIS_KEY_PREFIX may contain letters and digits only")
    settings["key_prefix"] = prefix or None
    kind = env.get("REDIS_LOCK_STORE") or "atomic"
    if kind not in LOCK_STORES:
        raise ConfigError(f"REDIS_LOCK_STORE must be one of {', '.join(LOCK_STORES)}, "
                          f"got {kind!r}")
    settings["type"] = LOCK_STORES[kind]
    settings["has_password"] = bool(env.get("REDIS_PASSWORD"))
    return settings


def render(env: Dict[str, str], base: Path = BASE) -> str:
    config = yaml.safe_load(base.read_text()) if base.exists() else {}
    config = config or {}
    action_url = env.get("ACTION_ENDPOINT_URL") or (
        config.get("action_endpoint") or {}).get("url") or "http://127.0.0.1:5055/webhook"
    lines: List[str] = [
        f"# Generated by config/endpoints.py from {base.name} and the environment.",
        "# Do not edit: change the environment variables or endpoints.yml instead.",
        "action_endpoint:",
        f"  url: {_q(action_url)}",
        "",
    ]
    pg = postgres_settings(env)
    if pg:
        lines += ["tracker_store:", f"  type: {TRACKER_STORE}", "  dialect: postgresql",
                  f"  url: {_q(pg['host'])}", f"  port: {pg['port']}",
                  f"  username: {_q(pg['user'])}", f"  db: {_q(pg['db'])}"]
        if pg["has_password"]:
            lines.append("  password: ${DB_PASSWORD}")  # expanded by Rasa at start-up
        if pg["login_db"]:
            lines.append(f"  login_db: {_q(pg['login_db'])}")
    else:
        sqlite = config.get("tracker_store") or {"type": TRACKER_STORE, "dialect": "sqlite",
                                                 "db": "rasa_tracker.db"}
        lines += yaml.safe_dump({"tracker_store": sqlite}, sort_keys=False).splitlines()
    lines.append("")
    redis = redis_settings(env)
    if redis:
        lines += ["lock_store:", f"  type: {redis['type']}", f"  url: {_q(redis['host'])}",
                  f"  port: {redis['port']}", f"  db: {redis['db']}"]
        if redis["username"]:
            lines.append(f"  username: {_q(redis['username'])}")
        if redis["has_password"]:
            lines.append("  password: ${REDIS_PASSWORD}")  # expanded by Rasa at start-up
        if redis["ssl"]:
            lines.append("  use_ssl: true")
        if redis["key_prefix"]:
            lines.append(f"  key_prefix: {_q(redis['key_prefix'])}")
        lines.append("")
    elif config.get("lock_store"):
        lines += yaml.safe_dump({"lock_store": config["lock_store"]},
                                sort_keys=False).splitlines() + [""]
    rest = {k: v for k, v in config.items() if k not in GENERATED}
    if rest:
        lines += yaml.safe_dump(rest, sort_keys=False).splitlines()
    return "\n".join(lines).rstrip() + "\n"


def check(env: Dict[str, str]) -> List[str]:
    """Returns one clear message per configured service that cannot be reached."""
    problems = []
    pg = postgres_settings(env)
    if pg:
        where = f"PostgreSQL at {pg['host']}:{pg['port']} (user {pg['user']})"
        try:
            import psycopg2

            conn = psycopg2.connect(host=pg["host"], port=pg["port"], user=pg["user"],
                                    password=env.get("DB_PASSWORD") or None,
                                    dbname=pg["login_db"] or pg["db"], connect_timeout=3)
            conn.close()
        except Exception as e:  # noqa: BLE001 - reported, never raised
            first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            problems.append(f"{where} is not reachable: {first_line}")
    redis = redis_settings(env)
    if redis:
        where = f"Redis at {redis['host']}:{redis['port']} (db {redis['db']})"
        try:
            import redis as redis_lib

            client = redis_lib.StrictRedis(
                host=redis["host"], port=redis["port"], db=redis["db"],
                username=redis["username"], password=env.get("REDIS_PASSWORD") or None,
                ssl=redis["ssl"], socket_timeout=3, socket_connect_timeout=3)
            client.ping()
            client.close()
        except Exception as e:  # noqa: BLE001
            problems.append(f"{where} is not reachable: {type(e).__name__}: {e}")
    return problems


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "build" / "endpoints.yml"))
    parser.add_argument("--check", action="store_true",
                        help="check that PostgreSQL and Redis (when configured) answer")
    parser.add_argument("--wait", type=float, default=0,
                        help="with --check: keep retrying this many seconds")
    args = parser.parse_args(argv)
    env = dict(os.environ)
    try:
        cors_origins(env)
        text = render(env)
    except ConfigError as e:
        print(f"make_endpoints: configuration error: {e}", file=sys.stderr)
        return 1
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    if args.check:
        deadline = time.monotonic() + args.wait
        while True:
            problems = check(env)
            if not problems:
                break
            for problem in problems:
                print(f"make_endpoints: {problem}", file=sys.stderr)
            if time.monotonic() >= deadline:
                print("make_endpoints: giving up; start the service(s) above or fix "
                      "DB_*/REDIS_* (see docs/production.md).", file=sys.stderr)
                return 2
            time.sleep(2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
