"""The shop in a real browser (issue 13): the click starts the trace, through the gateway to the
last INSERT; the page's viewer link shows that trace; a stopped stock degrades the page."""

from __future__ import annotations

import re
import uuid

import pytest
import requests

from polytrace.capture.otlp import Span
from polytrace.ports import port_block
from polytrace.screenshots import SERVICES, VIEWPORT, chromium, click_product, open_in_viewer, wait_for_waterfall
from polytrace.wait import poll_until
from tests.stack import ROOT, Stack

# Its own ports and run directory: the bundled viewer's stack runs beside the session's main one.
VIEWER_PORTS = port_block(30000)


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser):
    """A fresh context per test (no cache, no history); an uncaught page error fails the test."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def _assert_rooted_in_the_browser(trace: list[Span]) -> Span:
    ids = {s.span_id for s in trace}
    orphans = [s for s in trace if s.parent_span_id and s.parent_span_id not in ids]
    roots = [s for s in trace if not s.parent_span_id]
    assert not orphans, f"spans whose parent is not in the trace: {orphans}"
    assert len(roots) == 1, roots
    [root] = roots
    assert (root.service, root.kind, root.attributes.get("event_type")) == ("frontend", "INTERNAL", "click"), root
    return root


def test_a_click_starts_the_trace_in_the_browser(stack, page):
    trace_id = click_product(page, stack.url("gateway"))
    product = stack.get("catalog", "/products/1").json()
    assert page.locator("#product-name").inner_text() == product["name"]
    assert re.fullmatch(r"[0-9a-f]{32}", trace_id), trace_id

    trace = stack.wait_for_trace(trace_id, "click", timeout=30)
    root = _assert_rooted_in_the_browser(trace)
    [fetch] = [s for s in trace if s.service == "frontend" and s.kind == "CLIENT"]
    assert fetch.parent_span_id == root.span_id, "the click span is the fetch's parent (zone context)"
    assert fetch.attributes["url.full"] == stack.url("gateway", "/api/products/1")
    assert fetch.attributes["http.response.status_code"] == 200
    assert {s.service for s in trace} == set(SERVICES)


def test_each_page_load_is_one_document_load_trace(stack, page):
    url = stack.url("gateway", f"/?load={uuid.uuid4().hex}")  # this test's own page loads

    def loads() -> list[Span]:
        return [s for s in stack.receiver.spans()
                if s.service == "frontend" and s.name == "documentLoad" and s.attributes.get("url.full") == url]

    traces = []
    for count in (1, 2):  # a load, then a reload: a second trace
        page.goto(url)
        page.locator(".product-link").first.wait_for()
        spans = poll_until(lambda count=count: len(found := loads()) == count and found,
                           f"document load {count} of {url}", 20)
        traces.append(stack.wait_for_trace(spans[-1].trace_id, "document_load"))
    assert traces[0][0].trace_id != traces[1][0].trace_id
    for trace in traces:
        [root] = [s for s in trace if not s.parent_span_id]
        assert root.name == "documentLoad"
        resources = {s.attributes["url.full"] for s in trace if s.name == "resourceFetch"}
        assert {stack.url("gateway", "/app.js"), stack.url("gateway", "/style.css")} <= resources, resources


def test_with_stock_stopped_the_page_shows_the_degraded_product(stack, page):
    stack.polytrace("stop", "stock")
    try:
        trace_id = click_product(page, stack.url("gateway"))
        page.locator('[data-unavailable="stock"]').wait_for()
        assert "stock" in page.locator('[data-unavailable="stock"]').inner_text()
        assert page.locator("#stocks").inner_text() == "stock unavailable"
        assert re.fullmatch(r"\d+\.\d\d", page.locator("#price").inner_text()), "the price is still shown"
        assert not page.locator(".error").count(), page.locator(".error").all_inner_texts()
        [fetch] = stack.wait_for_spans(
            "the browser's fetch of the degraded product",
            lambda s: s.trace_id == trace_id and s.service == "frontend" and s.kind == "CLIENT")
        assert fetch.attributes["http.response.status_code"] == 200  # degraded, not failed
    finally:
        stack.polytrace("start", "stock")
    poll_until(lambda: stack.get("stock", "/health").status_code == 200, "stock to serve again", 30)


def test_an_unknown_product_is_an_error_in_the_page_not_a_blank_one(stack, page):
    page.goto(stack.url("gateway", "/#/products/999"))
    error = page.locator(".error")
    error.wait_for()
    assert "404" in error.inner_text(), error.inner_text()
    assert page.locator("#home").is_visible()


@pytest.fixture(scope="module")
def viewer_stack():
    stack = Stack(None, run_dir=ROOT / ".run-test-shop-viewer", ports=VIEWER_PORTS)
    with stack.running():
        yield stack


def test_the_viewer_link_opens_the_click_trace(viewer_stack, page):
    trace_id = click_product(page, viewer_stack.url("gateway"))
    wait_for_waterfall(page)  # the page's own waterfall: spans of all six services arrived
    drawn = {row.get_attribute("data-service") for row in page.locator("#waterfall .span-row").all()}
    assert set(SERVICES) <= drawn, drawn

    link = page.locator("#trace-link").get_attribute("href")
    assert link == viewer_stack.url("viewer", f"/zipkin/traces/{trace_id}")
    spans = requests.get(viewer_stack.url("viewer", f"/api/v2/trace/{trace_id}"), timeout=5).json()
    text = open_in_viewer(page, link)
    assert trace_id in text
    assert re.search(r"Total Spans\s+(\d+)", text).group(1) == str(len(spans))
    for service in SERVICES:
        assert f"{service}: " in text, f"no span of {service} on the viewer's page"
