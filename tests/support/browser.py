"""Headless Chromium for the browser tests: the system's build (scripts/ensure-chromium
installs Debian's), never one Playwright downloads; ``MAESTRO_CHROMIUM`` names another."""

import os
import shutil

from playwright.sync_api import Browser, Playwright

CHROMIUM = os.environ.get("MAESTRO_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def launch_chromium(playwright: Playwright) -> Browser:
    """Chromium, headless; close it when done. A missing Chromium fails the test."""
    assert os.path.exists(CHROMIUM), "browser tests need chromium: apt-get install -y chromium"
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    )
