"""The staff console in a real browser (Debian's chromium driven by Playwright), over real HTTP.

Skipped only when chromium is not installed; `.ci/run` installs it, so CI always runs it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from core.settings import REPO_ROOT
from tests.node import RunningNode

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (.ci/run installs it)")


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningNode, str]]:
    data_dir = tmp_path_factory.mktemp("browser")
    env = {**os.environ, "AMANA_DATA_DIR": str(data_dir)}
    created = subprocess.run([sys.executable, "-m", "server.cli", "issuer", "create-org", "--slug", "open-doors",
                              "--name", "en=Open Doors", "--type", "SkillCertificate"],
                             capture_output=True, text=True, cwd=REPO_ROOT, env=env, check=True)
    with RunningNode(data_dir) as running:
        yield running, json.loads(created.stdout)["api_key"]


def test_a_trainer_signs_in_and_makes_an_offer(node: tuple[RunningNode, str]) -> None:
    from playwright.sync_api import sync_playwright

    running, api_key = node
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(locale="ar")
        violations: list[str] = []
        page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
        page.goto(f"{running.base}/issuer/console")
        assert page.locator("html").get_attribute("dir") == "rtl"  # Accept-Language: ar
        page.get_by_role("link", name="English").click()
        page.fill("input[name=api_key]", api_key)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_selector("text=Issue one credential")
        form = page.locator("form[action='/issuer/console/offer']")
        form.locator("[name=given_name]").fill("Amina")
        form.locator("[name=family_name]").fill("Rahimi")
        form.locator("[name='skill.uri']").fill("http://data.europa.eu/esco/skill/28cb374e-6261-4133-8371-f9a5470145da")
        form.locator("[name='skill.label']").fill("welding")
        form.locator("[name=assessment_method]").select_option("practical_test")
        form.locator("[name=issuing_organisation]").fill("Open Doors")
        form.locator("[name=awarded_on]").fill("2026-11-20")
        form.locator("[name=holder_language]").select_option("fa")
        form.get_by_role("button").click()
        page.wait_for_selector(".sheet svg")
        pin = page.locator(".staff-pin .pin").inner_text()
        assert re.fullmatch(r"\d{6}", pin)
        assert page.locator(".sheet").get_attribute("dir") == "rtl"
        cookies = {c["name"]: c for c in page.context.cookies()}
        session = cookies["__Host-amana_staff_issuer"]
        assert session["httpOnly"] and session["secure"] and session["sameSite"] == "Strict"
        assert page.evaluate("document.cookie") == ""  # nothing a script could read
        assert not violations, violations
        browser.close()


@contextmanager
def _slow_offer_form(node: tuple[RunningNode, str],
                     monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, list[object]]]:
    """A signed-in console page whose one-offer form is filled in, on a node whose offers take 1.5 s
    (a slow line: the first is still on its way), and the offers it was asked to make."""
    import asyncio

    from playwright.sync_api import sync_playwright

    from issuer import pages

    running, api_key = node
    made: list[object] = []
    real = pages.make_offer

    async def slow(*args: object, **kwargs: object) -> object:
        made.append(args)
        await asyncio.sleep(1.5)
        return await real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pages, "make_offer", slow)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(locale="en")
        page.goto(f"{running.base}/issuer/console?lang=en")
        page.fill("input[name=api_key]", api_key)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_selector("text=Issue one credential")
        form = page.locator("form[action='/issuer/console/offer']")
        for name, value in (("given_name", "Amina"), ("family_name", "Rahimi"), ("issuing_organisation", "Open Doors"),
                            ("skill.uri", "http://data.europa.eu/esco/skill/28cb374e-6261-4133-8371-f9a5470145da"),
                            ("skill.label", "welding"), ("awarded_on", "2026-11-20")):
            form.locator(f"[name='{name}']").fill(value)
        form.locator("[name=assessment_method]").select_option("practical_test")
        yield page, made
        browser.close()


def test_a_second_click_on_create_while_the_first_is_on_its_way_sends_nothing(node: tuple[RunningNode, str],
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """helper-90: a double click made one offer only because the node answered first; on a slow
    line it made two, each with its own PIN and the person's name. The form is sent once."""
    with _slow_offer_form(node, monkeypatch) as (page, made):
        # a click, and another 0.4 s later while the page still waits for the first answer (from the page
        # itself: once a navigation is on its way, the test's handle is on the next page, a person's is not)
        page.locator("form[action='/issuer/console/offer'] button").evaluate(
            "b => { b.click(); setTimeout(() => b.click(), 400); }")
        page.wait_for_selector(".sheet svg", timeout=20000)
        page.wait_for_timeout(2000)  # a second one, had it been sent, would have reached the node by now
        assert len(made) == 1  # one offer, one PIN


def test_after_the_browsers_stop_button_the_form_can_be_sent_again_and_makes_nothing_twice(
        node: tuple[RunningNode, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """helper-90: pressing Stop while an offer was on its way left the form dead until a reload (the
    page hears nothing of a Stop). After a while it can be sent again; the node, which made the first,
    answers that it was sent already and where its offer is, and makes no second."""
    import httpx

    from core import i18n

    running, api_key = node

    def offers() -> int:
        listed = httpx.get(f"{running.base}/api/issuer/offers", headers={"Authorization": f"Bearer {api_key}"})
        return len(listed.json())

    before = offers()
    with _slow_offer_form(node, monkeypatch) as (page, made):
        form = page.locator("form[action='/issuer/console/offer']")
        form.evaluate("f => { f.dataset.resendAfter = '600'; }")  # the page's 15 s, shortened for the test
        # sent, then the Stop button (window.stop) while the node still works on it
        form.locator("button").evaluate("b => { b.click(); setTimeout(() => window.stop(), 300); }")
        page.wait_for_timeout(1200)
        assert form.locator("button").get_attribute("aria-disabled") is None  # it can be sent again
        form.locator("button").click()
        page.wait_for_selector(f"text={i18n.t('en', 'console.sent_already')}", timeout=20000)
        page.wait_for_timeout(2000)  # the first has finished by now
        assert len(made) == 2 and offers() == before + 1  # sent twice, one offer, one PIN
