"""The node's front page (core/front_door.py): ``/`` shows a door per service the node runs, in
the reader's language; a browser that asks for an address no route answers gets that page with a
404 and a sentence, a program still gets problem+json, and a protocol's own 404 stays JSON; and
what a node announced on https tells every browser that comes to it (HSTS)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from core import i18n
from core.settings import Settings
from server.app import build_app
from tests.browser import SHOTS, chromium, needs_chromium
from verifier.app import build_app as verifier_app

BASE = "https://node.amana.test"
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    app = build_app(Settings(data_dir=tmp_path_factory.mktemp("front"), public_base_url=BASE))
    with TestClient(app, base_url=BASE) as c:
        yield c


def _doors(html: str) -> list[str]:
    return [door for door in ("/wallet?", "/issuer/console?", "/verifier/desk?") if f'href="{door}' in html]


def test_the_front_page_has_a_door_per_service_in_the_readers_language(client: TestClient) -> None:
    page = client.get("/", headers={"Accept-Language": "ar"})
    assert page.status_code == 200 and '<html lang="ar" dir="rtl">' in page.text
    assert i18n.t("ar", "front.wallet") in page.text and _doors(page.text) == [
        "/wallet?", "/issuer/console?", "/verifier/desk?"]
    assert "script-src 'self'" in page.headers["content-security-policy"] and "set-cookie" not in page.headers



def test_a_service_running_alone_opens_its_own_door(tmp_path: Path) -> None:
    with TestClient(verifier_app(Settings(data_dir=tmp_path, public_base_url=BASE)), base_url=BASE) as desk_only:
        assert _doors(desk_only.get("/?lang=fr").text) == ["/verifier/desk?"]


def test_a_browser_lost_on_the_node_finds_its_way_a_program_still_gets_a_problem(client: TestClient) -> None:
    lost = client.get("/walet/cards?lang=fa", headers=BROWSER)  # a mistyped address
    assert lost.status_code == 404 and lost.headers["content-type"].startswith("text/html")
    assert i18n.t("fa", "front.not_found") in lost.text and len(_doors(lost.text)) == 3
    program = client.get("/walet/cards")
    assert program.status_code == 404 and program.headers["content-type"] == "application/problem+json"
    assert program.json()["code"] == "not_found"
    # A protocol endpoint's own "not found" (an offer used up, a check gone) is its answer, not a page.
    gone = client.get("/verifier/requests/no-such-check", headers=BROWSER)
    assert gone.status_code in (400, 404) and "html" not in gone.headers["content-type"]
    assert client.post("/", headers=BROWSER).status_code == 405  # only the page itself is new
    # core.staff's refinement survives: a browser's GET of a post-only staff address goes to its page.
    assert client.get("/verifier/desk/login", headers=BROWSER, follow_redirects=False).status_code == 303
    # ...and so does a browser's stale form there: back to the desk, not a problem+json body.
    stale = client.post("/verifier/desk/login", data={"csrf": "0" * 64}, headers=BROWSER, follow_redirects=False)
    assert stale.status_code == 303 and stale.headers["location"].startswith("/verifier/desk?lang=")


@needs_chromium
@pytest.mark.parametrize("lang", ["en", "ar"])
def test_the_front_page_reads_on_a_cheap_phone(lang: str, tmp_path: Path) -> None:
    from tests.node import RunningNode

    with RunningNode(tmp_path) as node, chromium() as browser:
        page = browser.new_page(viewport={"width": 360, "height": 800}, locale=lang)
        page.goto(f"{node.base}/")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        assert page.evaluate("document.documentElement.dir") == i18n.direction(lang)
        page.get_by_role("link", name=i18n.t(lang, "front.wallet")).click()
        assert page.url.startswith(f"{node.base}/wallet?lang={lang}")
        page.goto(f"{node.base}/")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"front-{lang}-360.png"), full_page=True)


def test_a_node_announced_on_https_asks_browsers_for_https_only(client: TestClient, tmp_path: Path) -> None:
    """RFC 6797: once seen on https, a browser never lets a later visit be downgraded to http."""
    assert client.get("/").headers["strict-transport-security"] == "max-age=31536000"  # BASE is https
    local = build_app(Settings(data_dir=tmp_path, public_base_url="http://127.0.0.1:8000"))
    with TestClient(local, base_url="http://127.0.0.1:8000") as on_loopback:
        assert "strict-transport-security" not in on_loopback.get("/").headers  # http on loopback: nothing to pin

