"""Debian's chromium, headless, driven by Playwright (never `playwright install`)."""
from contextlib import contextmanager
from typing import Iterator

from devstack.procs import CHROMIUM, CHROMIUM_ARGS, SHOTS


@contextmanager
def chromium() -> Iterator["object"]:
    """A launched browser; screenshots go to SHOTS (created here)."""
    if not CHROMIUM.exists():  # `make test` installs it (scripts/install-system-packages)
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
