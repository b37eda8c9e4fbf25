"""On a government intranet (政务内网) nothing outside the host answers: no page of the product may
ask another host for anything (a script, a style, a font, an image), or it breaks there."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.console.conftest import sign_in, username


def test_no_page_of_the_product_requests_another_host(browser, stack, demo):
    demo.user("finance", "auditor", label="省财政厅 审计（只读）")
    context = browser.new_context(base_url=stack.url, locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    page.goto("/docs")
    page.locator(".swagger-ui .opblock").first.wait_for()  # the UI ran: its script and the document loaded
    page.goto("/redoc")
    page.locator("[role=search], .api-content").first.wait_for()
    sign_in(page, username(demo, "finance", "auditor"))  # the auditor's navigation reaches every area
    visited = ["/console/"]
    for href in [a.get_attribute("href") for a in page.locator("header nav a").all()]:
        page.goto(href)
        page.wait_for_load_state("networkidle")
        visited.append(href)
    context.close()

    own = urlsplit(stack.url).netloc
    elsewhere = sorted({url for url in requested
                        if urlsplit(url).scheme in ("http", "https", "ws", "wss") and urlsplit(url).netloc != own})
    assert len(visited) >= 8 and any("/docs/assets/" in url for url in requested)
    assert elsewhere == []
