"""Headless Chromium for the tests that drive the web board (through Playwright)."""

import os
import shutil

from playwright.sync_api import Browser, Playwright

CHROMIUM = os.environ.get("MAESTRO_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def launch(playwright: Playwright) -> Browser:
    """Chromium, headless; fails (never skips) where it is not installed."""
    assert os.path.exists(CHROMIUM), "browser tests need chromium: apt-get install -y chromium"
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    )
