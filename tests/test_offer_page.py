"""The https link every offer QR carries (issue 10 item 12): a wallet resolves the offer from
it exactly as OpenID4VCI section 4.1.3 says; a browser gets a page in the holder's language."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from fastapi.testclient import TestClient

from core import i18n, keys, qr
from core.errors import InvalidInput
from core.settings import Settings
from issuer.app import build_app
from issuer.offers import offer_id_of, offer_page_link
from tests.issuer_orgs import org_on
from tests.oid4vci_wallet import BASE, Wallet
from wallet.receive import offer_uri

SKILL_EXAMPLE = json.loads(Path("specs/credentials/SkillCertificate/example.json").read_text())
ORG_AR = "الأبواب المفتوحة"


@pytest.fixture(scope="module")
def app_and_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str]]:
    app = build_app(Settings(data_dir=tmp_path_factory.mktemp("offer-page"), public_base_url=BASE))
    with TestClient(app, base_url=BASE) as client:
        yield client, org_on(client, names={"en": "Open Doors", "ar": ORG_AR}, staff_name="Amal")


def _offer(client: TestClient, key: str, language: str = "ar") -> dict[str, Any]:
    r = client.post("/api/issuer/offers", headers={"Authorization": f"Bearer {key}"},
                    json={"type": "SkillCertificate", "claims": SKILL_EXAMPLE, "language": language})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def _page(client: TestClient, link: str, **headers: str) -> Any:
    parts = urlsplit(link)
    return client.get(f"{parts.path}?{parts.query}", headers={"Accept": "text/html", **headers})


def test_the_qr_link_is_https_and_carries_the_offer_by_reference(app_and_key: tuple[TestClient, str]) -> None:
    client, key = app_and_key
    offer = _offer(client, key)
    page = f"{BASE}/issuers/open-doors/offer"
    assert offer["qr_link"] == f"{page}?credential_offer_uri={quote(offer['offer_uri'], safe='')}"
    assert offer_uri(offer["qr_link"]) == offer_uri(offer["link"]) == offer["offer_uri"]
    # every QR of the offer carries it: the sheet's, and the staff API's PNG
    png = client.get(urlsplit(offer["qr_png"]).path, headers={"Authorization": f"Bearer {key}"}).content
    from tests.browser import decode_qr_codes

    assert decode_qr_codes(png) == [offer["qr_link"]]


def test_a_wallet_receives_from_the_https_link(app_and_key: tuple[TestClient, str]) -> None:
    client, key = app_and_key
    offer = _offer(client, key)
    assert len(Wallet(client).receive(offer["qr_link"], offer["pin"], [keys.generate()])) == 1
    # the offer URL itself still answers JSON, whatever a browser would accept (section 4.1.3)
    r = client.get(urlsplit(offer["offer_uri"]).path, headers={"Accept": "text/html"})
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")  # used


def test_the_offer_uri_parser_takes_one_offer_from_either_form() -> None:
    assert offer_uri("https://n.test/issuers/a/offer?credential_offer_uri=https%3A%2F%2Fn.test%2Fo%2F1") == \
        "https://n.test/o/1"
    for bad in ("https://n.test/issuers/a/offer", "ftp://n.test/?credential_offer_uri=x",
                "https://n.test/?credential_offer_uri=a&credential_offer_uri=b", "javascript:alert(1)",
                "openid-credential-offer://?credential_offer_uri=file%3A%2F%2F%2Fetc%2Fpasswd"):  # was a 502
        with pytest.raises(InvalidInput):
            offer_uri(bad)


def test_a_browser_gets_a_page_in_the_holders_language(app_and_key: tuple[TestClient, str]) -> None:
    client, key = app_and_key
    offer = _offer(client, key, language="ar")
    r = _page(client, offer["qr_link"], **{"Accept-Language": "en"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert r.headers["cache-control"] == "no-store" and "set-cookie" not in r.headers
    assert '<html lang="ar" dir="rtl">' in r.text  # the language staff recorded, not the phone's
    assert ORG_AR in r.text and "شهادة مهارة" in r.text and i18n.t("ar", "offer_page.get_wallet") in r.text
    links = re.findall(r'href="(openid-credential-offer://[^"]+)"', r.text)
    assert links == [offer["link"]] and f'value="{offer["link"]}"' in r.text  # to tap, and to copy
    assert offer["pin"] not in r.text
    switch = re.search(r'href="(\?[^"]*lang=fr)"', r.text)
    assert switch and "credential_offer_uri=" in switch.group(1)  # another language keeps the offer
    french = client.get(f"{urlsplit(offer['qr_link']).path}{switch.group(1).replace('&amp;', '&')}")
    assert '<html lang="fr" dir="ltr">' in french.text and offer["link"] in french.text


def test_where_the_node_hosts_wallets_its_own_comes_before_an_app_that_may_not_be_there(
        app_and_key: tuple[TestClient, str]) -> None:
    """A phone with no wallet app does nothing at all when the app's link is tapped (helper-83): on a
    node that also hosts wallets, its own wallet is the first way on, the app's link second and
    outlined; an issuer on its own keeps the app first (it has nothing else to offer)."""
    client, key = app_and_key
    alone = _page(client, _offer(client, key, language="en")["qr_link"]).text
    assert alone.index('class="card wallet-app"') < alone.index('class="card no-wallet-app"')
    assert 'class="wallet-link button"' in alone and "wallet-here" not in alone
    client.app.state.wallet = object()  # type: ignore[attr-defined]
    try:
        offer = _offer(client, key, language="en")
        hosted = _page(client, offer["qr_link"]).text
    finally:
        del client.app.state.wallet  # type: ignore[attr-defined]
    assert hosted.index('class="button wallet-here"') < hosted.index('class="card wallet-app"')
    assert hosted.count('class="wallet-link button secondary"') == 1 and hosted.count(offer["link"]) == 2
    assert i18n.t("en", "offer_page.pin") in hosted  # the PIN hint still follows the app's link
    # the app is then the other way, said as one (helper-89 read two instructions one after the other)
    assert i18n.t("en", "offer_page.get_wallet_also") in hosted and i18n.t("en", "offer_page.get_wallet") not in hosted
    assert i18n.t("en", "offer_page.get_wallet") in alone and i18n.t("en", "offer_page.get_wallet_also") not in alone


def test_the_page_shows_only_this_issuers_live_offers(app_and_key: tuple[TestClient, str]) -> None:
    client, key = app_and_key
    offer = _offer(client, key, language="fa")
    foreign = "https://evil.example/issuers/open-doors/offers/" + offer["offer_id"]
    for uri in (foreign, offer["offer_uri"] + "x", "", offer["offer_uri"].replace("open-doors", "other")):
        r = client.get("/issuers/open-doors/offer", params={"credential_offer_uri": uri})
        assert r.status_code == 404 and "openid-credential-offer://" not in r.text
        assert "evil.example" not in r.text
    Wallet(client).receive(offer["qr_link"], offer["pin"], [keys.generate()])
    used = _page(client, offer["qr_link"])
    assert used.status_code == 404 and i18n.t("fa", "offer_page.gone") in used.text  # still the holder's language
    assert offer_id_of(f"{BASE}/issuers/open-doors", foreign) is None


def test_the_https_link_stays_small_enough_for_a_cheap_camera() -> None:
    """The issuer URL is in the link twice: up to about 70 characters the code stays at
    version 10 (57 modules a side), which a cheap camera reads off paper."""
    long_issuer = "https://credentials.training-centre.example.org/issuers/open-doors"  # 66 characters
    assert qr.version(offer_page_link(long_issuer, "A" * 22)) <= 10
