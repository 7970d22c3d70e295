"""Skills picked from ESCO at the issuer (issue 17 item 6): the console's search without a script,
the script's JSON, the label filled from the pick, and a made-up skill URI refused before anything
is written (problem+json on the API, the trainer's language and a field error on the page)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from core import esco, i18n
from issuer import pages
from issuer.staff_api import OfferCreate
from issuer.tables import Offer
from tests.test_issuer_console import _csrf, _signed_in

pytestmark = pytest.mark.skipif(not esco.INDEX.exists(), reason="the ESCO index is not built: make setup")
FORKLIFT = "http://data.europa.eu/esco/skill/28cb374e-6261-4133-8371-f9a5470145da"
MADE_UP = "http://data.europa.eu/esco/skill/0e4a3c5a-6b6f-4a8a-9e1b-3f5c2d7a8b90"
CLAIMS = {"given_name": "Amina", "family_name": "Rahimi", "skill": {"uri": FORKLIFT, "label": "operate forklift"},
          "assessment_method": "practical_test", "issuing_organisation": "Open Doors", "awarded_on": "2026-11-20"}


def _offers(client: TestClient) -> int:
    ctx = client.app.state.issuer  # type: ignore[attr-defined]

    async def count() -> int:
        async with ctx.transaction() as session:
            return int((await session.execute(select(func.count()).select_from(Offer))).scalar_one())

    return int(client.portal.call(count))  # type: ignore[union-attr]


def _form(home: str, lang: str = "en", **values: str) -> dict[str, str]:
    return {"csrf": _csrf(home), "lang": lang, "type": "SkillCertificate", "given_name": "Amina",
            "family_name": "Rahimi", "skill.uri": FORKLIFT, "skill.label": "operate forklift",
            "assessment_method": "practical_test", "issuing_organisation": "Open Doors", "awarded_on": "2026-11-20",
            "copies": "1", "holder_language": "en", **values}


def test_a_made_up_skill_uri_is_refused_on_the_api_and_nothing_is_written(app_and_key: tuple[TestClient, str]) -> None:
    client, key = app_and_key
    before = _offers(client)
    r = client.post("/api/issuer/offers", headers={"Authorization": f"Bearer {key}"},
                    json={"type": "SkillCertificate", "claims": dict(CLAIMS, skill={"uri": MADE_UP, "label": "x"})})
    assert r.status_code == 400 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "unknown_esco_skill" and "skill.uri" in r.json()["detail"]
    assert MADE_UP not in r.text
    assert _offers(client) == before
    ok = client.post("/api/issuer/offers", headers={"Authorization": f"Bearer {key}"},
                     json={"type": "SkillCertificate", "claims": CLAIMS})
    assert ok.status_code in (200, 201), ok.text
    assert _offers(client) == before + 1


@pytest.mark.parametrize("lang", ["fa", "fr", "en"])
def test_a_made_up_skill_uri_is_refused_on_the_page_in_the_trainers_language(
        app_and_key: tuple[TestClient, str], lang: str) -> None:
    client, key = app_and_key
    home = _signed_in(client, key)
    before = _offers(client)
    r = client.post("/issuer/console/offer", data=_form(home, lang, **{"skill.uri": MADE_UP}))
    assert r.status_code == 400
    said = i18n.t(lang, "console.esco_unknown").replace("'", "&#39;")
    assert r.text.count(said) == 2  # at the top of the page and at the field
    field = re.search(r'<input name="skill\.uri"[^>]*>', r.text)
    assert field and 'aria-invalid="true"' in field.group(0) and MADE_UP in field.group(0)  # kept, to correct
    assert _offers(client) == before


def test_a_class_with_a_made_up_skill_issues_nothing(app_and_key: tuple[TestClient, str]) -> None:
    client, key = app_and_key
    home = _signed_in(client, key)
    before = _offers(client)
    form = {"csrf": _csrf(home), "lang": "en", "type": "SkillCertificate", "copies": "1",
            "default:skill.uri": MADE_UP, "default:skill.label": "forklift",
            "default:assessment_method": "practical_test", "default:issuing_organisation": "Open Doors",
            "default:awarded_on": "2026-11-20"}
    r = client.post("/issuer/console/class", data=form,
                    files={"csv": ("class.csv", "given_name,family_name\nAmina,Rahimi\n", "text/csv")})
    assert 'class="sheet"' not in r.text and i18n.t("en", "console.esco_unknown") in r.text
    assert _offers(client) == before


def test_the_search_works_without_a_script(app_and_key: tuple[TestClient, str]) -> None:
    client, key = app_and_key
    _signed_in(client, key)
    page = client.get("/issuer/console", params={"lang": "ar", "esco": "FORKLIFT"}).text
    select_ = re.search(r'<select name="skill\.uri" required[^>]*>(.*?)</select>', page, re.S)
    assert select_, "the matches come back as a select in the offer form"
    options = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select_.group(1))
    assert options[0] == ("", i18n.t("ar", "console.esco_choose"))
    assert options[1] == (FORKLIFT, "operate forklift")  # a preferred label starting with the words
    search = re.search(r'<form id="esco-find-SkillCertificate"[^>]*method="get"[^>]*>(.*?)</form>', page, re.S)
    assert search and 'name="esco" value="FORKLIFT"' in search.group(1)  # its own form: only the words are sent
    offer = re.search(r'<form[^>]* method="post" action="/issuer/console/offer"[^>]*>(.*?)</form>', page, re.S)
    assert offer and len(re.findall(r"<button", offer.group(1))) == 1 and 'name="esco"' not in offer.group(1)
    none = client.get("/issuer/console", params={"lang": "fr", "esco": "zzzqqq"}).text
    assert i18n.t("fr", "console.esco_none").replace("'", "&#39;") in none
    assert '<input name="skill.uri" type="text"' in none  # the URI can still be typed by hand


def test_the_label_is_filled_from_the_pick(app_and_key: tuple[TestClient, str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    client, key = app_and_key
    home = _signed_in(client, key)
    assert re.search(r'<input name="skill\.label" type="text"(?![^>]*required)', home), "left empty, it is filled"
    asked: list[dict[str, Any]] = []
    original = pages.make_offer

    async def recording(ctx: Any, staff: Any, org: Any, request: OfferCreate, **kwargs: Any) -> Any:
        asked.append(request.claims)
        return await original(ctx, staff, org, request, **kwargs)

    monkeypatch.setattr(pages, "make_offer", recording)
    r = client.post("/issuer/console/offer", data=_form(home, **{"skill.label": ""}))
    assert r.status_code == 200, r.text
    assert asked[-1]["skill"] == {"uri": FORKLIFT, "label": "operate forklift"}
    r = client.post("/issuer/console/offer", data=_form(home, **{"skill.label": "Forklift driving (counterbalance)"}))
    assert asked[-1]["skill"]["label"] == "Forklift driving (counterbalance)"  # the trainer's own words stay


def test_the_scripts_matches_are_for_signed_in_staff_only(app_and_key: tuple[TestClient, str]) -> None:
    client, key = app_and_key
    client.cookies.clear()
    r = client.get("/issuer/console/skills", params={"q": "forklift"})
    assert r.status_code == 403
    _signed_in(client, key)
    r = client.get("/issuer/console/skills", params={"q": "Forklift"})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    first = r.json()["skills"][0]
    assert first["uri"] == FORKLIFT and first["label"] == "operate forklift" and "use a forklift" in first["also"]
    assert client.get("/issuer/console/skills", params={"q": ""}).json() == {"skills": []}
