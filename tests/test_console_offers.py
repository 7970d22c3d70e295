"""The console's hold on what was issued or offered (issue 10 item 10): references on offers,
a credentials list that tells rows apart, pages through everything and finds by reference,
status changes only after a confirmation page, and the open offers list (cancel, new sheet).
Driven as a browser would, with cookies and CSRF tokens (tests/test_issuer_console.py)."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from core import i18n, keys
from issuer import console_lists, store
from tests.conftest import console_app
from tests.oid4vci_wallet import Wallet
from tests.test_issuer_console import SKILL_URI, _csrf, _signed_in

EXAMPLE = json.loads(Path("specs/credentials/SkillCertificate/example.json").read_text())
FORM = {"lang": "en", "type": "SkillCertificate", "given_name": "Amina", "family_name": "Rahimi",
        "skill.uri": SKILL_URI, "skill.label": "welding", "eqf_level": "3", "assessment_method": "practical_test",
        "issuing_organisation": "Open Doors", "awarded_on": "2026-11-20", "copies": "1", "holder_language": "en"}
Client = tuple[TestClient, str]


@pytest.fixture(scope="module")
def app_and_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    yield from console_app(tmp_path_factory.mktemp("console-offers"))


def _api(client: TestClient, key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _offer(client: TestClient, key: str, reference: str | None, batch: int = 1) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "SkillCertificate", "claims": EXAMPLE, "batch_size": batch}
    if reference:
        body["reference"] = reference
    r = client.post("/api/issuer/offers", headers=_api(client, key), json=body)
    assert r.status_code == 201, r.text
    offer: dict[str, Any] = r.json()
    return offer


def _issue(client: TestClient, key: str, reference: str | None, copies: int = 1) -> list[dict[str, Any]]:
    offer = _offer(client, key, reference, copies)
    Wallet(client).receive(offer["link"], offer["pin"], [keys.generate() for _ in range(copies)])
    listed: list[dict[str, Any]] = client.get("/api/issuer/credentials", headers=_api(client, key)).json()
    return [c for c in listed if c["offer_id"] == offer["offer_id"]]


def _class(client: TestClient, key: str, name: str, csv_text: str, lang: str = "en", **fields: str) -> Any:
    """A class sent from the console: ``csv_text`` as the file ``name``, FORM's skill for everyone."""
    home = _signed_in(client, key)
    defaults = {f"default:{k}": v for k, v in FORM.items() if k not in ("lang", "type", "given_name", "copies",
                                                                        "holder_language")}
    return client.post("/issuer/console/class", data={**defaults, "csrf": _csrf(home), "lang": lang, "copies": "1",
                                                      "type": "SkillCertificate", **fields},
                       files={"csv": (name, csv_text, "text/csv")})


def _status(client: TestClient, key: str, credential_id: str) -> str:
    listed = client.get("/api/issuer/credentials?limit=500", headers=_api(client, key)).json()
    return str(next(c["status"] for c in listed if c["id"] == credential_id))


def _open_ids(client: TestClient, key: str) -> set[str]:
    return {o["offer_id"] for o in client.get("/api/issuer/offers", headers=_api(client, key)).json()}


def test_a_reference_shows_for_staff_and_never_on_the_holders_sheet(app_and_key: Client) -> None:
    client, key = app_and_key
    home = _signed_in(client, key)
    assert i18n.t("en", "console.reference") in home and 'name="reference"' in home
    r = client.post("/issuer/console/offer", data={**FORM, "csrf": _csrf(home), "reference": "Case 4711 Amina"})
    assert r.status_code == 200, r.text
    staff_line = re.search(r'<p class="staff-pin no-print">.*?</p>', r.text, re.S)
    assert staff_line and "Case 4711 Amina" in staff_line.group(0)
    sheet = re.search(r'<article class="sheet".*?</article>', r.text, re.S)
    assert sheet and "4711" not in sheet.group(0)  # a case number is not for the holder's paper
    assert any(o["reference"] == "Case 4711 Amina"
               for o in client.get("/api/issuer/offers", headers=_api(client, key)).json())


def test_a_class_gets_references_from_its_csv_or_the_forms_prefix(app_and_key: Client) -> None:
    client, key = app_and_key
    csv_text = "given_name,family_name,reference\nAmina,Rahimi,File A-1\nOlena,Koval,\n"
    r = _class(client, key, "class.csv", csv_text, reference="Welding Nov")
    assert r.status_code == 200, r.text
    assert "File A-1" in r.text and "Welding Nov #3" in r.text
    references = {o["reference"] for o in client.get("/api/issuer/offers", headers=_api(client, key)).json()}
    assert {"File A-1", "Welding Nov #3"} <= references


def test_the_same_page_sent_again_makes_no_second_offer(app_and_key: Client) -> None:
    """helper-90: reloading the sheets (the browser sends the form again) made a second live offer with
    its own PIN and the person's name. The page's one-time value is spent by the first sending."""
    client, key = app_and_key
    home = _signed_in(client, key)
    once = re.search(r'action="/issuer/console/offer"[^>]*>\s*<input type="hidden" name="csrf" value="[^"]+">'
                     r'<input type="hidden" name="once" value="([^"]+)"', home)
    assert once is not None
    sent = {**FORM, "csrf": _csrf(home), "once": once[1], "reference": "Reload 1"}
    before = _open_ids(client, key)
    first = client.post("/issuer/console/offer", data=sent)
    assert first.status_code == 200 and 'class="sheet"' in first.text
    again = client.post("/issuer/console/offer", data=sent)
    assert again.status_code == 409 and i18n.t("en", "console.sent_already") in again.text
    assert 'class="sheet"' not in again.text and len(_open_ids(client, key) - before) == 1
    fresh = re.search(r'name="once" value="([^"]+)"', again.text)  # the page it answers with may be sent
    assert fresh is not None and fresh[1] != once[1]
    assert client.post("/issuer/console/offer", data={**sent, "once": fresh[1]}).status_code == 200


def test_a_sending_that_failed_spent_nothing_and_the_same_page_goes_through(app_and_key: Client,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """helper-93: the page's one-time value was spent before the work, so a sending that then failed
    made nothing and its retry said "sent already". It is spent with the offer, in one transaction."""
    from core.errors import InvalidInput
    from issuer import staff_api

    client, key = app_and_key
    home = _signed_in(client, key)
    once = re.search(r'name="once" value="([^"]+)"', home)
    assert once is not None
    sent = {**FORM, "csrf": _csrf(home), "once": once[1], "reference": "Retry 1"}
    real, failing = staff_api.new_offer, True

    async def once_broken(*args: Any, **kwargs: Any) -> Any:
        nonlocal failing
        if failing:
            failing = False
            raise InvalidInput("the node failed half way")  # any failure after the value was spent
        return await real(*args, **kwargs)

    monkeypatch.setattr(staff_api, "new_offer", once_broken)
    before = _open_ids(client, key)
    assert client.post("/issuer/console/offer", data=sent).status_code == 400  # the failure's own answer
    assert _open_ids(client, key) == before  # nothing made, nothing spent
    again = client.post("/issuer/console/offer", data=sent)
    assert again.status_code == 200 and 'class="sheet"' in again.text and len(_open_ids(client, key) - before) == 1
    assert client.post("/issuer/console/offer", data=sent).status_code == 409  # and now it is spent


def test_a_key_pasted_with_a_space_or_a_line_end_signs_in(app_and_key: Client) -> None:
    client, key = app_and_key
    assert i18n.t("en", "console.sign_out") in _signed_in(client, f"  {key}\r\n")  # helper-90: it was refused


def test_a_class_from_a_european_spreadsheet_is_read_and_its_rows_told_apart(app_and_key: Client) -> None:
    """helper-90: a spreadsheet set to French writes ';' between cells, and such a file was refused
    whole; with no reference given, every offer showed "—" and a lost sheet could not be found.
    Now the separator is the header's, and the file's name (less its extension) is the reference."""
    client, key = app_and_key
    csv_text = "\ufeffgiven_name;family_name;language\r\nAmina;Rahimi;fr\r\nOlena;Koval;uk\r\n"
    r = _class(client, key, "soudure mars.csv", csv_text, lang="fr")
    assert r.status_code == 200, r.text
    assert r.text.count('class="sheet"') == 2
    references = {o["reference"] for o in client.get("/api/issuer/offers", headers=_api(client, key)).json()}
    assert {"soudure mars #2", "soudure mars #3"} <= references
    odd = _class(client, key, "C:\\Users\\staff\\\u202esoudure\u200b avril.csv", "given_name\nAmina\n")
    assert odd.status_code == 200  # a path's folders and a reversing or hidden character are not kept
    listed = client.get("/api/issuer/offers", headers=_api(client, key)).json()
    assert "soudure avril #2" in {o["reference"] for o in listed}
    unknown = _class(client, key, "x.csv", "given_name;surname\nAmina;Rahimi\n")
    told = re.sub(r"</?bdi>", "", unknown.text)
    assert unknown.status_code == 400 and "Column B of the first row is not a field of this credential" in told
    assert "surname" not in told  # a header cell is named by its place, never by what it says (helper-93)
    assert "given_name, family_name" in told and "reference" in told  # the columns it takes


def test_the_list_names_reference_and_copies_finds_by_reference_and_pages(app_and_key: Client,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch is one row (helper-90: a row per copy, each with a Revoke that changed them all)."""
    client, key = app_and_key
    twins = _issue(client, key, "Dossier 77 Yusuf", copies=2)
    _issue(client, key, None)
    home = _signed_in(client, key)
    assert "Dossier 77 Yusuf" in home and i18n.t("en", "console.batch_of", total=2) in home
    assert '<bdi class="ref">—</bdi>' in home  # an offer without a reference
    assert re.search(r'<bdi dir="ltr" class="date">\d{4}-\d{2}-\d{2}</bdi>', home)
    found = client.get("/issuer/console", params={"lang": "en", "reference": "dossier  ٧٧ yusuf"}).text
    rows = re.findall(r"/issuer/console/credentials/([^/\"]+)/revoke", found)
    assert rows == [min(c["id"] for c in twins)]  # any spelling, any digits; nobody else; the batch once
    nothing = client.get("/issuer/console", params={"lang": "en", "reference": "no such case"}).text
    assert i18n.t("en", "console.find_none") in nothing
    monkeypatch.setattr(console_lists, "PAGE_SIZE", 1)
    seen, url = [], "/issuer/console?lang=en"
    listed = client.get("/api/issuer/credentials?limit=500", headers=_api(client, key)).json()
    batches: dict[str, list[str]] = {}
    for c in listed:
        batches.setdefault(c["offer_id"], []).append(c["id"])
    all_ids = {min(ids) for ids in batches.values()}  # each batch by its first copy
    for _ in range(len(listed) + 1):
        page = client.get(url).text
        seen += re.findall(r"/issuer/console/credentials/([^/\"]+)/(?:revoke)", page)
        link = re.search(r'<a rel="next" href="([^"]+#credentials)"', page)  # the open offers page apart
        if not link:
            break
        url = html.unescape(link.group(1)).split("#")[0]
    assert sorted(seen) == sorted(all_ids)  # every batch on exactly one page, its copies split or not


def test_revoking_asks_first_and_the_first_post_changes_nothing(app_and_key: Client) -> None:
    client, key = app_and_key
    twins = _issue(client, key, "Case 9 Olena", copies=2)
    home = _signed_in(client, key)
    url = f"/issuer/console/credentials/{twins[0]['id']}/revoke"
    first = client.post(url, data={"csrf": _csrf(home), "lang": "en"})
    assert first.status_code == 200
    assert _status(client, key, twins[0]["id"]) == "valid" and _status(client, key, twins[1]["id"]) == "valid"
    for text in (i18n.t("en", "console.confirm_title.revoke"), "Case 9 Olena", console_lists.day(twins[0]["issued_at"]),
                 i18n.t("en", "console.status.valid"), i18n.t("en", "console.confirm_batch", count=2)):
        assert text in html.unescape(first.text)
    assert 'name="confirm" value="yes"' in first.text and 'class="back"' in first.text
    assert client.post(url, data={"csrf": "0" * 64, "lang": "en", "confirm": "yes"}).status_code == 403
    assert _status(client, key, twins[0]["id"]) == "valid"
    done = client.post(url, data={"csrf": _csrf(first.text), "lang": "en", "confirm": "yes"})
    assert done.status_code == 200 and i18n.t("en", "console.done_copies", n=2) in done.text  # both copies
    assert _status(client, key, twins[0]["id"]) == "revoked" and _status(client, key, twins[1]["id"]) == "revoked"


def test_suspend_and_reinstate_ask_first_too(app_and_key: Client) -> None:
    client, key = app_and_key
    (one,) = _issue(client, key, "Case 10")
    for action, after in (("suspend", "suspended"), ("reinstate", "valid")):
        home = _signed_in(client, key)
        url = f"/issuer/console/credentials/{one['id']}/{action}"
        page = client.post(url, data={"csrf": _csrf(home), "lang": "ar"})
        assert i18n.t("ar", f"console.confirm_title.{action}") in page.text and 'dir="rtl"' in page.text
        assert _status(client, key, one["id"]) != after
        client.post(url, data={"csrf": _csrf(page.text), "lang": "ar", "confirm": "yes"})
        assert _status(client, key, one["id"]) == after


def test_open_offers_are_listed_cancelled_after_confirmation_and_replaced(app_and_key: Client) -> None:
    client, key = app_and_key
    lost, stuck = _offer(client, key, "Lost sheet 5"), _offer(client, key, "Locked 6")
    home = _signed_in(client, key)
    assert "Lost sheet 5" in home and i18n.t("en", "console.offer_state.offered") in home
    url = f"/issuer/console/offers/{lost['offer_id']}/cancel"
    first = client.post(url, data={"csrf": _csrf(home), "lang": "en"})
    assert i18n.t("en", "console.confirm_title.cancel_offer") in first.text and "Lost sheet 5" in first.text
    assert lost["offer_id"] in _open_ids(client, key)  # asking changed nothing
    done = client.post(url, data={"csrf": _csrf(first.text), "lang": "en", "confirm": "yes"})
    assert i18n.t("en", "console.offer_cancelled") in done.text and "Lost sheet 5" not in done.text
    assert lost["offer_id"] not in _open_ids(client, key)
    url = f"/issuer/console/offers/{stuck['offer_id']}/reoffer"
    asked = client.post(url, data={"csrf": _csrf(done.text), "lang": "en"})  # the held sheet stops: asked first
    assert i18n.t("en", "console.confirm_title.reoffer") in asked.text and "Locked 6" in asked.text
    assert i18n.t("en", "console.confirm_reoffer") in html.unescape(asked.text) and "<svg" not in asked.text
    assert stuck["offer_id"] in _open_ids(client, key)  # asking changed nothing
    sheet = client.post(url, data={"csrf": _csrf(asked.text), "lang": "en", "confirm": "yes"})
    assert sheet.status_code == 200 and '<article class="sheet"' in sheet.text and "<svg" in sheet.text
    assert re.search(r'class="pin" dir="ltr">\d{6}<', sheet.text) and "Locked 6" in sheet.text
    assert i18n.t("en", "console.new_sheet_done") in sheet.text
    open_now = client.get("/api/issuer/offers", headers=_api(client, key)).json()
    assert stuck["offer_id"] not in {o["offer_id"] for o in open_now}
    assert any(o["reference"] == "Locked 6" for o in open_now)  # the replacement keeps the reference


def test_a_refused_offer_keeps_what_was_typed_and_names_its_field(app_and_key: Client) -> None:
    client, key = app_and_key
    home = _signed_in(client, key)
    r = client.post("/issuer/console/offer", data={**FORM, "csrf": _csrf(home), "eqf_level": "eleven",
                                                   "reference": "Case 12", "holder_language": "uk"})
    assert r.status_code == 400
    assert 'value="Amina"' in r.text and 'value="Case 12"' in r.text and 'value="uk" selected' in r.text
    field = re.search(r'<input name="eqf_level"[^>]*>', r.text)
    assert field and 'aria-invalid="true"' in field.group(0)
    described = re.search(r'aria-describedby="([^"]+)"', field.group(0))
    assert described and f'id="{described.group(1)}"' in r.text
    assert f'id="{described.group(1)}"><bdi>Level (1 to 8' in r.text and "write a whole number" in r.text  # to mend
    given = re.search(r'<input name="given_name"[^>]*>', r.text)
    assert given and "aria-invalid" not in given.group(0)  # only the field the error names


def test_the_sheets_back_link_flips_in_rtl(app_and_key: Client) -> None:
    client, key = app_and_key
    home = _signed_in(client, key)
    r = client.post("/issuer/console/offer", data={**FORM, "csrf": _csrf(home), "lang": "ar"})
    assert re.search(r'<a class="back" href="/issuer/console\?lang=ar"><span class="arrow" aria-hidden="true">←</span>',
                     r.text)


def test_another_organisations_credential_or_offer_is_not_found(app_and_key: Client) -> None:
    client, key = app_and_key
    home = _signed_in(client, key)
    ctx = client.app.state.issuer  # type: ignore[attr-defined]

    async def other() -> tuple[str, str]:

        async with ctx.transaction() as session:
            org, _ = await store.create_org(session, ctx.node, slug="elsewhere", names={"en": "Elsewhere"},
                                            vcts=["urn:amana:credential:SkillCertificate:1"], keep_claims_days=None,
                                            staff_name="B", now=ctx.now())
            offer, _pin = await store.create_offer(
                session, ctx.node, org_id=org.id, config_id="SkillCertificate", claims=EXAMPLE, batch_size=1,
                language="en", staff_id=None, now=ctx.now(), ttl_s=600, reference="Their case")
            return offer.id, org.id

    offer_id, org_id = client.portal.call(other)  # type: ignore[union-attr]
    for url in (f"/issuer/console/offers/{offer_id}/cancel", f"/issuer/console/offers/{offer_id}/reoffer",
                "/issuer/console/credentials/00000000-0000-0000-0000-000000000000/revoke"):
        for confirm in ("", "yes"):
            r = client.post(url, data={"csrf": _csrf(home), "lang": "en", "confirm": confirm})
            assert r.status_code == 200 and "dl class=\"named\"" not in r.text and "<svg" not in r.text
            assert "Their case" not in r.text and "not" in r.text.lower()
    assert "Their case" not in home

    async def still_open() -> list[str]:
        async with ctx.transaction() as session:
            return [o.id for o in await store.open_offers(session, org_id, ctx.now())]

    assert client.portal.call(still_open) == [offer_id]  # type: ignore[union-attr]
