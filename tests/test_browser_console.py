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
