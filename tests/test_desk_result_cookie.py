"""The desk's "show the result" for a check this browser does not hold the key of: the words say
why, and nothing is taken (verifier/pages.py ``result``). The result's key lives in one cookie per
browser, for the check it asked last: with no cookie the result was shown already ("shown once");
with a cookie of another check a newer check replaced this one ("this check has ended"). Neither
reads the database for the check. In process (TestClient), on a node with no trust list: no check
is needed to reach either answer."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from core import i18n
from core.settings import Settings
from server.app import build_app
from tests.oid4vci_wallet import BASE
from verifier import store
from verifier.pages import RESULT_COOKIE

CHECK = "2R6ruJhLHohzcSFAq3l4ZQ"


@pytest.fixture()
def desk(tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    """A browser signed in at the desk, and its form's CSRF token."""
    with TestClient(build_app(Settings(data_dir=tmp_path, public_base_url=BASE)), base_url=BASE,
                    follow_redirects=False) as client:
        ctx = client.app.state.verifier  # type: ignore[attr-defined]

        async def add() -> str:
            async with ctx.transaction() as session:
                return await store.add_desk_key(session, ctx.node, "front desk", ctx.now())

        key = client.portal.call(add)  # type: ignore[union-attr]
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/verifier/desk").text)
        assert token
        assert client.post("/verifier/desk/login", data={"csrf": token.group(1), "desk_key": key}).status_code == 303
        yield client, token.group(1)


def _notice(client: TestClient, csrf: str, lang: str) -> tuple[int, str]:
    answered = client.post(f"/verifier/desk/checks/{CHECK}/result", data={"csrf": csrf, "lang": lang})
    found = re.search(r'<p class="notice"[^>]*>([^<]*)</p>', answered.text)
    return answered.status_code, found.group(1) if found else ""


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_no_cookie_means_the_result_was_shown_once(desk: tuple[TestClient, str], lang: str) -> None:
    client, csrf = desk
    assert _notice(client, csrf, lang) == (404, i18n.t(lang, "desk.once"))


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_a_cookie_of_another_check_means_this_one_has_ended(desk: tuple[TestClient, str], lang: str) -> None:
    client, csrf = desk
    client.cookies.set(RESULT_COOKIE, "AnotherCheckId0123456.c29tZS1rZXk=", domain=BASE.split("//")[1])
    assert _notice(client, csrf, lang) == (404, i18n.t(lang, "desk.check_gone"))
