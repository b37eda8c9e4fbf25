"""Browser tests: Debian's Chromium driven by Playwright against the real `zhengban up` processes,
filled by the demo scenario.

They write nothing tracked: the screenshots in docs/console/ are taken only when asked
(`make screenshots`, or ZHENGBAN_SCREENSHOTS=1)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.e2e.stack import UNLIMITED, started
from zhengban.demo.scenario import PASSWORD, Scenario

CHROMIUM = os.environ.get("ZHENGBAN_CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "console"
SCREENSHOTS = os.environ.get("ZHENGBAN_SCREENSHOTS", "") == "1"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    # One stack for every console test. They sign in dozens of times from one address within a
    # minute, as no person does: the limits are lifted (they have tests of their own, in tests/gateway).
    with started(tmp_path_factory.mktemp("console"), env=UNLIMITED) as running:
        yield running


@pytest.fixture(scope="session")
def demo(stack) -> Scenario:
    scenario = Scenario(stack.url, stack.admin_password)
    scenario.run()
    return scenario


# One browser per module, not per session: Playwright's sync API keeps an event loop running in
# this thread while it is open, which the async tests of other directories cannot share.
@pytest.fixture(scope="module")
def browser():
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        missing = f"no Chromium at {CHROMIUM} (apt-get install chromium); .ci/run installs it"
        if os.environ.get("CI"):  # as for PostgreSQL: a CI run without the browser must not pass green
            pytest.fail(f"{missing}, and CI is set: the browser tests cannot be skipped here")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, stack):
    context = browser.new_context(base_url=stack.url, locale="zh-CN", viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


def sign_in(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/console/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    with page.expect_response(lambda r: r.url.split("?")[0].endswith("/console/login")
                              and r.request.method == "POST") as answer:
        page.get_by_role("button", name="登录").click()
    if answer.value.status != 303:
        # Say why, not "timeout": the console shows the API's problem, and /auth/token's own answer
        # (a 429 from the sign-in limiter, say) is asked for once more to name its status.
        shown = page.locator(".alert").all_inner_texts()
        direct = page.request.post("/auth/token", form={"username": username, "password": password})
        raise AssertionError(f"sign-in as {username} refused: /console/login answered {answer.value.status} "
                             f"{shown}; {direct.status} from /auth/token: {direct.text()[:300]}")
    page.wait_for_url("**/console/")


def username(demo: Scenario, org: str, *roles: str) -> str:
    return f"{org}-{'-'.join(roles)}-{demo.made.tag}".replace("_", "-")


# An accessibility check run in the page: labelled inputs, headings in order, text contrast.
A11Y_CHECK = """
() => {
  const problems = [];
  const visible = el => el.offsetParent !== null || el.getClientRects().length > 0;
  for (const input of document.querySelectorAll('input, select, textarea')) {
    if (input.type === 'hidden' || !visible(input)) continue;
    const labelled = (input.id && document.querySelector(`label[for="${input.id}"]`)) || input.closest('label')
      || input.getAttribute('aria-label') || input.getAttribute('aria-labelledby');
    if (!labelled) problems.push(`input without a label: ${input.name}`);
  }
  let last = 0;
  for (const h of document.querySelectorAll('h1, h2, h3, h4, h5, h6')) {
    const level = Number(h.tagName[1]);
    if (last === 0 && level !== 1) problems.push(`first heading is ${h.tagName}`);
    if (last && level > last + 1) problems.push(`heading jumps from h${last} to ${h.tagName}: ${h.textContent}`);
    last = level;
  }
  if (!document.documentElement.lang) problems.push('no lang on <html>');
  const rgb = c => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = el => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length >= 3 && (c.length < 4 || c[3] > 0.5)) return c;
    }
    return [255, 255, 255];
  };
  for (const el of document.querySelectorAll('body *')) {
    if (!visible(el) || el.closest('svg')) continue;
    const text = [...el.childNodes].filter(n => n.nodeType === 3 && n.textContent.trim()).length;
    if (!text) continue;
    const fg = lum(rgb(getComputedStyle(el).color)), bg = lum(background(el));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    if (ratio < 4.5) problems.push(`contrast ${ratio.toFixed(2)} for "${el.textContent.trim().slice(0, 30)}"`);
  }
  return problems;
}
"""


def accessible(page) -> list[str]:
    return page.evaluate(A11Y_CHECK)


def shoot(page, name: str) -> None:
    """Saves the page as docs/console/<name>.png, only when screenshots are asked for."""
    if not SCREENSHOTS:
        return
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


# What a page must be, besides accessible: every value translated, names instead of ids, and every
# link, button and field reachable by the keyboard.
PAGE_CHECK = """
() => {
  const problems = [];
  for (const el of document.querySelectorAll('[data-untranslated]'))
    problems.push(`untranslated ${el.dataset.untranslated}: ${el.textContent}`);
  const uuid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
  const id = document.querySelector('main').innerText.match(uuid);
  if (id) problems.push(`an id where a name belongs: ${id[0]}`);
  for (const el of document.querySelectorAll('a[href], button, input, select, textarea')) {
    if (el.type === 'hidden' || !(el.offsetParent !== null || el.getClientRects().length)) continue;
    if (el.tabIndex < 0 || el.disabled) problems.push(`not reachable by keyboard: ${el.outerHTML.slice(0, 60)}`);
  }
  if (!document.querySelector('h1')) problems.push('no h1');
  return problems;
}
"""


def check_page(page, path: str) -> list[str]:
    answer = page.goto(path)
    problems = [] if answer.status == 200 else [f"HTTP {answer.status}"]
    return [f"{path}: {p}" for p in problems + accessible(page) + page.evaluate(PAGE_CHECK)]
