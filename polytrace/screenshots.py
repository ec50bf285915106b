"""The shop and the viewer in Debian's Chromium, driven by Playwright: the README's pictures
(`take`) and the steps the browser tests share (a click and its trace).

Playwright is imported by the callers' code paths only, so the CLI runs without it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from polytrace.errors import PolytraceError

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

# No browser can be downloaded here (`playwright install` is never run): the system's Chromium.
CHROMIUM = os.environ.get("POLYTRACE_CHROMIUM", "/usr/bin/chromium")
VIEWPORT = {"width": 1280, "height": 900}
SERVICES = ("frontend", "gateway", "catalog", "pricing", "stock", "analytics")


@contextmanager
def chromium() -> Iterator[Browser]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise PolytraceError("Playwright for Python is missing: pip install -e '.[test]'") from exc
    if not Path(CHROMIUM).exists():
        raise PolytraceError(f"no Chromium at {CHROMIUM} (install Debian's chromium, or set POLYTRACE_CHROMIUM)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def click_product(page: Page, shop_url: str, index: int = 0, timeout_ms: float = 15_000) -> str:
    """Open the shop, click the `index`-th product; the trace id the page shows for that click."""
    page.goto(shop_url.rstrip("/") + "/")
    link = page.locator(".product-link").nth(index)
    link.wait_for(timeout=timeout_ms)
    link.click()
    return page.locator("#trace-id").inner_text(timeout=timeout_ms).strip()


def wait_for_waterfall(page: Page, timeout_ms: float = 40_000) -> str:
    """Until the page's waterfall has spans of all six services; its summary line."""
    page.wait_for_selector("#trace-progress.done, #trace-progress.error", timeout=timeout_ms)
    progress = page.locator("#trace-progress")
    if progress.get_attribute("class") != "done":
        raise PolytraceError(f"the click's trace stayed incomplete: {progress.inner_text()}")
    return progress.inner_text()


def open_in_viewer(page: Page, trace_url: str, timeout_ms: float = 20_000) -> str:
    """Zipkin's page of one trace, once its span list is drawn; the page's text."""
    page.goto(trace_url)
    page.get_by_text("Total Spans").wait_for(timeout=timeout_ms)
    page.get_by_text("analytics: process analytics").first.wait_for(timeout=timeout_ms)
    return page.inner_text("body")


def take(base_url: str, viewer_url: str, out_dir: Path) -> list[Path]:
    """docs/images/shop.png (a product after its click, with the waterfall) and trace.png (that
    click's trace in the viewer); needs a running stack with the bundled viewer."""
    out_dir.mkdir(parents=True, exist_ok=True)
    shop, trace = out_dir / "shop.png", out_dir / "trace.png"
    with chromium() as browser:
        page = browser.new_page(viewport=VIEWPORT)
        trace_id = click_product(page, base_url)
        wait_for_waterfall(page)
        page.screenshot(path=str(shop), full_page=True)
        open_in_viewer(page, f"{viewer_url.rstrip('/')}/zipkin/traces/{trace_id}")
        page.screenshot(path=str(trace))
    return [shop, trace]
