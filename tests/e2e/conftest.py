"""Browser tests: Playwright drives the system Chromium (pytest-playwright cannot download one).

Playwright's sync API runs an event loop in the test thread, so Django's ORM calls made by
these tests need DJANGO_ALLOW_ASYNC_UNSAFE; it is set here, for the browser tests only.
"""

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Page

from tests.factories import UserFactory

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install it with `apt-get install -y chromium`.")
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "headless": True,
        "args": CHROMIUM_FLAGS,
    }


SCREENSHOTS = Path(settings.BASE_DIR) / "docs" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def shoot() -> Callable[[Page, str], None]:
    """Save a page as docs/screenshots/<name>-desktop.png and -phone.png, at 1280 and 390
    pixels wide, when STOCKD_SCREENSHOTS is set (`STOCKD_SCREENSHOTS=1 make test`)."""

    def save(page: Page, name: str) -> None:
        if not os.environ.get("STOCKD_SCREENSHOTS"):
            return
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        before = page.viewport_size
        for suffix, size in (("desktop", DESKTOP), ("phone", PHONE)):
            page.set_viewport_size(size)
            page.screenshot(path=SCREENSHOTS / f"{name}-{suffix}.png", full_page=True)
        page.set_viewport_size(before or DESKTOP)

    return save


@pytest.fixture
def screenshot_dir(tmp_path: Path) -> Path:
    """Where a test that always takes screenshots keeps them: docs/screenshots when
    STOCKD_SCREENSHOTS is set, else a temporary folder."""
    if os.environ.get("STOCKD_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return SCREENSHOTS
    return tmp_path


@pytest.fixture
def staff_signed_in(page: Page, stockd_server) -> None:
    """Sign `page` in as a staff member (ops@stockd.com) by session cookie, at desktop size."""
    client = Client()
    client.force_login(UserFactory(is_staff=True, email="ops@stockd.com"))
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": stockd_server,
            }
        ]
    )
    page.set_viewport_size(DESKTOP)
