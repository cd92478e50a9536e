"""Headless Chromium for the browser tests and the board benchmark: the system's build
(scripts/ensure-chromium installs Debian's), never one Playwright downloads;
``MAESTRO_CHROMIUM`` names another."""

import os
import shutil

from playwright.async_api import Browser as AsyncBrowser
from playwright.async_api import Playwright as AsyncPlaywright
from playwright.sync_api import Browser, Playwright

CHROMIUM = os.environ.get("MAESTRO_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def chromium() -> str:
    """The Chromium to run; a missing one fails the test (or the benchmark)."""
    assert os.path.exists(CHROMIUM), "browser tests need chromium: apt-get install -y chromium"
    return CHROMIUM


def launch_chromium(playwright: Playwright) -> Browser:
    """Chromium, headless; close it when done."""
    return playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)


async def launch_chromium_async(playwright: AsyncPlaywright) -> AsyncBrowser:
    """The same Chromium, for Playwright's async API (the benchmark's event loop)."""
    return await playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
