"""The layout's rules (docs/architecture.md): the arrows between folders point one way,
and importing the product does nothing but define things."""
import ast
import json
import socket
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIPPED = {".venv", "node_modules", "build", "models", ".git", "eval"}
# The product's packages (devstack/ and scripts/ are tools around it).
PRODUCT = ("assistant", "actions", "components", "channels", "stores", "patches", "config",
           "handoff", "insights", "web")


def python_files():
    for path in sorted(ROOT.rglob("*.py")):
        if not SKIPPED & set(path.relative_to(ROOT).parts):
            yield path


def imported_packages(path: Path) -> set:
    """The top-level names a file imports (relative imports stay in their package)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def imports_of(folder: str) -> dict:
    return {str(p.relative_to(ROOT)): imported_packages(p) for p in python_files()
            if p.relative_to(ROOT).parts[0] == folder}


def test_the_core_stands_alone():
    forbidden = {"rasa", "rasa_sdk", "actions", "components", "channels", "stores", "patches",
                 "scripts"}
    found = {path: names & forbidden for path, names in imports_of("assistant").items()}
    assert imports_of("assistant") and not any(found.values()), found


def test_components_do_not_reach_into_actions():
    found = {path: names & {"actions"} for path, names in imports_of("components").items()}
    assert not any(found.values()), found


def test_nothing_imports_scripts():
    found = [str(p.relative_to(ROOT)) for p in python_files() if "scripts" in imported_packages(p)]
    assert not found


# Run in a fresh interpreter: which threads each module of the product starts at import,
# and which functions or attributes of Rasa (and rasa_sdk, Sanic) it replaces. Rasa's server,
# agent, channels, stores and actions are imported first, so that what is there to patch is.
PROBE = """
import importlib, json, sys, threading

LIBRARIES = ("rasa", "rasa_sdk", "sanic")
for name in ("rasa.core.run", "rasa.core.agent", "rasa.core.actions.action",
             "rasa.core.tracker_store", "rasa.core.lock_store", "rasa_sdk.executor"):
    importlib.import_module(name)


def library_attributes():
    \"\"\"Every module-level name of the loaded libraries, and every attribute of their
    classes, with its value (kept, so that identities stay meaningful).\"\"\"
    found = {}
    for module_name, module in list(sys.modules.items()):
        if module is None or module_name.split(".")[0] not in LIBRARIES:
            continue
        for name, value in list(vars(module).items()):
            found[f"{module_name}.{name}"] = value
            if isinstance(value, type) and value.__module__ == module_name:
                for attribute, member in list(vars(value).items()):
                    found[f"{module_name}.{name}.{attribute}"] = member
    return found


before = {t.ident for t in threading.enumerate()}
library = library_attributes()
started, patched = {}, {}
for name in sys.argv[1:]:
    importlib.import_module(name)
    for t in threading.enumerate():
        if t.ident not in before:
            started.setdefault(name, []).append(t.name)
            before.add(t.ident)
    now = library_attributes()
    changed = sorted(key for key, value in library.items()
                     if key not in now or now[key] is not value)
    if changed:
        patched[name] = changed
        library.update({key: now[key] for key in changed if key in now})
print(json.dumps({"threads": started, "patched": patched}))
"""


@contextmanager
def refusing_server():
    """A port that answers every connection by closing it, counting them: each database,
    cache, mail server and web hook the product could reach points here. (A closed port
    would not show connections tried from C code, such as PostgreSQL's driver.)"""
    server = socket.create_server(("127.0.0.1", 0))
    tried = []

    def refuse():
        while True:
            try:
                connection, _ = server.accept()
            except OSError:  # closed: the test is over
                return
            tried.append(connection.getsockname())
            connection.close()
    thread = threading.Thread(target=refuse, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], tried
    finally:
        server.shutdown(socket.SHUT_RDWR)
        server.close()
        thread.join(5)


def product_modules():
    for path in python_files():
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[0] in PRODUCT:
            yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def quiet_import(modules) -> dict:
    with refusing_server() as (port, tried):
        url = f"127.0.0.1:{port}"
        env = {"PATH": "/usr/bin:/bin", "HOME": str(ROOT), "PYTHONPATH": str(ROOT),
               "DB_HOST": "127.0.0.1", "DB_PORT": str(port), "REDIS_HOST": "127.0.0.1",
               "REDIS_PORT": str(port), "REDIS_URL": f"redis://{url}/0",
               "HANDOFF_OUTBOX_DB": f"postgresql://postgres@{url}/outbox",
               "HANDOFF_SMTP_HOST": "127.0.0.1", "HANDOFF_SMTP_PORT": str(port),
               "HANDOFF_EMAIL_FROM": "bot@example.org", "HANDOFF_EMAIL_TO": "team@example.org",
               "HANDOFF_WEBHOOK_URL": f"http://{url}/hook",
               "ACTION_ENDPOINT_URL": f"http://{url}/webhook",
               "http_proxy": f"http://{url}", "https_proxy": f"http://{url}"}
        done = subprocess.run([sys.executable, "-c", PROBE, *modules], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        return {**json.loads(done.stdout.splitlines()[-1]), "connections": len(tried)}


@pytest.mark.slow
def test_importing_the_product_starts_nothing_connects_nowhere_and_patches_nothing():
    modules = list(product_modules())
    assert {"assistant.content", "actions.actions", "actions.handoff", "web.app",
            "handoff.outbox", "handoff.worker", "stores.cached_sql", "channels.rest",
            "patches.rasa36"} <= set(modules)
    assert quiet_import(modules) == {"threads": {}, "patched": {}, "connections": 0}
