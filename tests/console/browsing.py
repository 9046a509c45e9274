"""Headless Debian chromium driven by Playwright (tests/console and benchmarks/console.py), with
the flags that keep it quiet on a closed network (/work/shared/facts.md)."""

import contextlib
import os
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
# Where the browser tests keep their screenshots (CONSOLE_SCREENSHOTS, else test-artifacts/ in the
# repository, ignored by git); the session's summary names it.
SCREENSHOTS = Path(
    os.environ.get("CONSOLE_SCREENSHOTS")
    or Path(__file__).resolve().parents[2] / "test-artifacts" / "console-screenshots"
)
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_available() -> bool:
    return Path(CHROMIUM).exists() and os.access(CHROMIUM, os.X_OK)


@contextlib.contextmanager
def browser():
    """A headless chromium for the block."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()
