"""Operator keys can be revoked: a desk key (``amana verifier revoke-desk``) and a staff member's
API key (``amana issuer revoke-staff``). A lost laptop or a colleague who left must stop working at
once — on the API, at the sign-in, and in every page already signed in — while the row stays, so
the organisation can say who had access until when. A colleague gets a key of their own
(``add-staff``) instead of sharing one. The commands are run as typed, on the node's own store.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from core import db, sessions
from core.errors import InvalidInput, NotFound
from core.sealing import NodeKey, new_token
from core.settings import REPO_ROOT, Settings
from issuer import store as issuer_store
from issuer.tables import Staff
from server.app import build_app
from tests.consent_log_world import migrated, store_url
from tests.desk_world import DeskWorld, sign_in
from tests.node import RunningNode
from tests.oid4vci_wallet import BASE
from tests.test_verifier_desk import CHROMIUM
from verifier import store as verifier_store
from verifier.store import AuditLine
from verifier.tables import DeskKey


@pytest.fixture()
def node(tmp_path: Path) -> Iterator[TestClient]:
    app = build_app(Settings(data_dir=tmp_path, public_base_url=BASE))
    with TestClient(app, base_url=BASE, follow_redirects=False) as client:
        yield client


def _run(client: TestClient, work: Any) -> Any:
    return client.portal.call(work)  # type: ignore[union-attr]


def _sign_in(client: TestClient, page: str, field: str, key: str) -> int:
    """A browser's sign-in on ``page`` (a fresh CSRF cookie and token); the status code."""
    client.cookies.clear()
    token = re.search(r'name="csrf" value="([^"]+)"', client.get(page).text)
    assert token
    return client.post(f"{page}/login", data={"csrf": token.group(1), field: key}).status_code


def _signed_in_page(client: TestClient, page: str) -> bool:
    """The page answers as for someone signed in (no sign-in form on it)."""
    answered = client.get(page)
    assert answered.status_code == 200
    return 'name="desk_key"' not in answered.text and 'name="api_key"' not in answered.text


LISTED = {"id", "name", "created_at", "revoked_at"}
SHOTS = Path(tempfile.gettempdir()) / "desk-shots"  # looked at by hand; nothing reads them back
NOW = 1_800_000_000


async def _sessions_of(ctx: Any, subject: str) -> list[str]:
    async with ctx.transaction() as session:
        found = await session.execute(select(sessions.ConsoleSession.service)
                                      .where(sessions.ConsoleSession.subject == subject))
        return list(found.scalars())


def _desk(client: TestClient, name: str) -> tuple[str, str]:
    ctx = client.app.state.verifier  # type: ignore[attr-defined]

    async def add() -> str:
        async with ctx.transaction() as session:
            return await verifier_store.add_desk_key(session, ctx.node, name, ctx.now())

    key = _run(client, add)
    return key, verifier_store.desk_id(ctx.node, key)


def test_a_revoked_desk_key_stops_everywhere_at_once_and_stays_listed(node: TestClient) -> None:
    client, ctx = node, node.app.state.verifier  # type: ignore[attr-defined]
    lost, lost_id = _desk(client, "front desk")
    kept, _ = _desk(client, "front desk")  # the same name: the ids tell them apart
    assert client.get("/api/verifier/audit", headers={"Authorization": f"Bearer {lost}"}).status_code == 200
    assert _sign_in(client, "/verifier/desk", "desk_key", lost) == 303
    assert _signed_in_page(client, "/verifier/desk")

    async def revoke(later: int = 0) -> dict[str, Any]:
        async with ctx.transaction() as session:
            return await verifier_store.revoke_desk_key(session, lost_id, ctx.now() + later)

    revoked = _run(client, revoke)
    assert revoked["id"] == lost_id and revoked["sessions_ended"] == 1 and revoked["revoked_at"] is not None
    assert _run(client, lambda: _sessions_of(ctx, ctx.node.digest("desk-key", lost))) == []
    assert not _signed_in_page(client, "/verifier/desk")  # the laptop's open page is signed out
    assert client.get("/api/verifier/audit", headers={"Authorization": f"Bearer {lost}"}).status_code == 401
    assert _sign_in(client, "/verifier/desk", "desk_key", lost) == 401
    assert client.get("/api/verifier/audit", headers={"Authorization": f"Bearer {kept}"}).status_code == 200
    assert _sign_in(client, "/verifier/desk", "desk_key", kept) == 303  # the other desk works on

    assert revoked["already_revoked"] is False
    again = _run(client, lambda: revoke(later=60))  # revoking again, a minute on, changes nothing
    assert again["revoked_at"] == revoked["revoked_at"] and again["sessions_ended"] == 0
    assert again["already_revoked"] is True  # and says so

    async def listed() -> list[dict[str, Any]]:
        async with ctx.transaction() as session:
            return await verifier_store.desk_keys(session)

    desks = _run(client, listed)
    assert sorted((d["name"], d["revoked_at"] is None) for d in desks) == [("front desk", False), ("front desk", True)]
    assert {d["id"] for d in desks} == {lost_id, verifier_store.desk_id(ctx.node, kept)}
    assert all(set(d) == LISTED for d in desks)  # no digest in full, no key
    assert not any(lost in json.dumps(d) or kept in json.dumps(d) for d in desks)  # keys are never shown again


def test_a_desk_session_begun_as_its_key_was_revoked_is_refused(node: TestClient) -> None:
    """A sign-in checked the key, then the revocation ended every session, then the sign-in wrote
    its own (PostgreSQL's READ COMMITTED lets the two interleave): the page still refuses it."""
    client, ctx = node, node.app.state.verifier  # type: ignore[attr-defined]
    key, desk_id = _desk(client, "desk")
    token = new_token()

    async def interleave() -> None:
        async with ctx.transaction() as session:
            await verifier_store.revoke_desk_key(session, desk_id, ctx.now())
        async with ctx.transaction() as session:  # the late sign-in's write
            await sessions.start(session, ctx.node, verifier_store.SERVICE, ctx.node.digest("desk-key", key), token,
                                 ctx.now())

    _run(client, interleave)
    client.cookies.clear()
    client.cookies.set(sessions.cookie("verifier"), token)
    assert not _signed_in_page(client, "/verifier/desk")


@pytest.mark.parametrize("desk_id", ["", "abc", "g" * 16, "%" * 16, "_" * 16, "0" * 17, "abcdef01 23456789"])
def test_a_malformed_desk_id_is_refused_and_changes_nothing(node: TestClient, desk_id: str) -> None:
    client, ctx = node, node.app.state.verifier  # type: ignore[attr-defined]
    key, _ = _desk(client, "desk")

    async def revoke() -> None:
        async with ctx.transaction() as session:
            await verifier_store.revoke_desk_key(session, desk_id, ctx.now())

    with pytest.raises(InvalidInput):  # "%" and "_" are LIKE wildcards: refused before any query
        _run(client, revoke)
    assert client.get("/api/verifier/audit", headers={"Authorization": f"Bearer {key}"}).status_code == 200


def test_ending_a_subjects_sessions_leaves_the_other_services_alone(node: TestClient) -> None:
    client, ctx = node, node.app.state.verifier  # type: ignore[attr-defined]

    async def both() -> int:
        async with ctx.transaction() as session:
            await sessions.start(session, ctx.node, "issuer", "same", new_token(), ctx.now())
            await sessions.start(session, ctx.node, "verifier", "same", new_token(), ctx.now())
        async with ctx.transaction() as session:
            return await sessions.end_all(session, "verifier", "same")

    assert _run(client, both) == 1
    assert _run(client, lambda: _sessions_of(ctx, "same")) == ["issuer"]


def test_an_id_two_desk_keys_share_revokes_neither(node: TestClient) -> None:
    """Sixty-four bits make it a thing never seen; were it seen, neither key is taken at random."""
    client, ctx = node, node.app.state.verifier  # type: ignore[attr-defined]

    async def twins() -> list[DeskKey]:
        async with ctx.transaction() as session:
            session.add_all([DeskKey(digest="ab" * 8 + "0" * 48, name="one", created_at=1),
                             DeskKey(digest="ab" * 8 + "1" * 48, name="two", created_at=2)])
        async with ctx.transaction() as session:
            with pytest.raises(InvalidInput):
                await verifier_store.revoke_desk_key(session, "ab" * 8, ctx.now())
        async with ctx.transaction() as session:
            return list((await session.execute(select(DeskKey).where(DeskKey.revoked_at.is_not(None)))).scalars())

    assert _run(client, twins) == []


def test_an_unknown_desk_id_is_not_found(node: TestClient) -> None:
    client, ctx = node, node.app.state.verifier  # type: ignore[attr-defined]
    _desk(client, "desk")

    async def revoke() -> None:
        async with ctx.transaction() as session:
            await verifier_store.revoke_desk_key(session, "0123456789abcdef", ctx.now())

    with pytest.raises(NotFound):
        _run(client, revoke)

    async def revoked() -> list[DeskKey]:
        async with ctx.transaction() as session:
            return list((await session.execute(select(DeskKey).where(DeskKey.revoked_at.is_not(None)))).scalars())

    assert _run(client, revoked) == []


def test_a_revoked_staff_key_stops_on_the_api_and_in_the_console(node: TestClient) -> None:
    client, ctx = node, node.app.state.issuer  # type: ignore[attr-defined]

    async def organisations() -> tuple[str, str, str, str, str]:
        async with ctx.transaction() as session:
            org, first = await issuer_store.create_org(
                session, ctx.node, slug="ngo", names={"en": "NGO"}, vcts=["urn:amana:credential:SkillCertificate:1"],
                keep_claims_days=None, staff_name="Amal", now=ctx.now())
            other, _ = await issuer_store.create_org(
                session, ctx.node, slug="other", names={"en": "Other"}, vcts=[], keep_claims_days=None,
                staff_name="Bo", now=ctx.now())
            leaving_id, leaving = await issuer_store.add_staff(session, ctx.node, org.id, "Karim", ctx.now())
        return org.id, other.id, first, leaving_id, leaving

    org_id, other_id, first, leaving_id, leaving = _run(client, organisations)
    assert client.get("/api/issuer/credentials", headers={"Authorization": f"Bearer {leaving}"}).status_code == 200
    assert _sign_in(client, "/issuer/console", "api_key", leaving) == 303
    assert _signed_in_page(client, "/issuer/console")

    async def revoke(org: str, later: int = 0) -> dict[str, Any]:
        async with ctx.transaction() as session:
            return await issuer_store.revoke_staff(session, org, leaving_id, ctx.now() + later)

    with pytest.raises(NotFound):  # another organisation cannot revoke Karim
        _run(client, lambda: revoke(other_id))
    assert _signed_in_page(client, "/issuer/console")
    revoked = _run(client, lambda: revoke(org_id))
    assert revoked["name"] == "Karim" and revoked["sessions_ended"] == 1 and revoked["revoked_at"] is not None
    assert _run(client, lambda: _sessions_of(ctx, leaving_id)) == []
    again = _run(client, lambda: revoke(org_id, later=60))  # a minute on: changes nothing, and says so
    assert again["revoked_at"] == revoked["revoked_at"] and again["sessions_ended"] == 0
    assert (revoked["already_revoked"], again["already_revoked"]) == (False, True)
    assert revoked["keys_in_force"] == 1  # Amal's
    assert not _signed_in_page(client, "/issuer/console")
    assert client.get("/api/issuer/credentials", headers={"Authorization": f"Bearer {leaving}"}).status_code == 401
    assert _sign_in(client, "/issuer/console", "api_key", leaving) == 401
    assert client.get("/api/issuer/credentials", headers={"Authorization": f"Bearer {first}"}).status_code == 200

    async def listed() -> list[dict[str, Any]]:
        async with ctx.transaction() as session:
            return await issuer_store.staff_of(session, org_id)

    staff = _run(client, listed)
    assert sorted((s["name"], s["revoked_at"] is None) for s in staff) == [("Amal", True), ("Karim", False)]
    assert not any(leaving in json.dumps(s) or first in json.dumps(s) for s in staff)
    assert all(set(s) == LISTED for s in staff)  # no digest, no key


def test_a_staff_session_begun_as_their_key_was_revoked_is_refused(node: TestClient) -> None:
    client, ctx = node, node.app.state.issuer  # type: ignore[attr-defined]
    token = new_token()

    async def interleave() -> None:
        async with ctx.transaction() as session:
            org, _ = await issuer_store.create_org(session, ctx.node, slug="ngo", names={"en": "NGO"}, vcts=[],
                                                   keep_claims_days=None, staff_name="Amal", now=ctx.now())
            staff_id = (await session.execute(select(Staff.id).where(Staff.org_id == org.id))).scalar_one()
        async with ctx.transaction() as session:
            await issuer_store.revoke_staff(session, org.id, staff_id, ctx.now())
        async with ctx.transaction() as session:
            await sessions.start(session, ctx.node, "issuer", staff_id, token, ctx.now())

    _run(client, interleave)
    client.cookies.clear()
    client.cookies.set(sessions.cookie("issuer"), token)
    assert not _signed_in_page(client, "/issuer/console")


def test_the_commands_as_typed(tmp_path: Path) -> None:
    """``add-staff``, ``staff``, ``revoke-staff``, ``desks`` and ``revoke-desk`` from a shell: JSON
    out, problem+json and exit 1 on a wrong id, the keys shown once and never listed."""
    env = {**os.environ, "AMANA_DATA_DIR": str(tmp_path), "AMANA_PUBLIC_BASE_URL": BASE}

    def amana(*args: str, code: int = 0) -> list[dict[str, Any]]:
        done = subprocess.run([sys.executable, "-m", "server.cli", *args], capture_output=True, text=True,
                              cwd=REPO_ROOT, env=env, check=False, timeout=120)
        assert done.returncode == code, done.stderr
        if code:
            assert json.loads(done.stderr)["status"] in (400, 404, 409) and "Traceback" not in done.stderr
            return []
        return [json.loads(line) for line in done.stdout.splitlines()]

    amana("issuer", "create-org", "--slug", "ngo", "--name", "en=NGO", "--type", "SkillCertificate", "--staff", " ",
          code=1)
    [org] = amana("issuer", "create-org", "--slug", "ngo", "--name", "en=NGO", "--type", "SkillCertificate")
    [karim] = amana("issuer", "add-staff", "--org", "ngo", "--name", " Karim ")
    assert karim["name"] == "Karim"
    amana("issuer", "add-staff", "--org", "ngo", "--name", "K" * 201, code=1)  # a database error on PostgreSQL
    assert karim["api_key"].startswith("amk_") and karim["api_key"] != org["api_key"]
    amana("issuer", "add-staff", "--org", "ngo", "--name", "  ", code=1)
    amana("issuer", "revoke-staff", "--org", "ngo", "--id", "nobody", code=1)
    amana("issuer", "revoke-staff", "--org", "ngo", "--id", karim["api_key"], code=1)  # a key is not an id
    amana("issuer", "add-staff", "--org", "ngo", "--name", "Evil\n{\"id\": 1}\x1b[31m", code=1)  # forged lines
    amana("issuer", "create-org", "--slug", "ngo", "--name", "en=NGO 2", "--type", "SkillCertificate",
          code=1)  # the slug is taken: a 409, not a traceback
    [revoked] = amana("issuer", "revoke-staff", "--org", "ngo", "--id", f" {karim['id'].upper().replace('-', '')} ")
    assert revoked["revoked_at"] is not None and revoked["keys_in_force"] == 1
    listed = amana("issuer", "staff", "--org", "ngo")
    assert sorted((s["name"], s["revoked_at"] is None) for s in listed) == [("Karim", False), ("admin", True)]
    assert org["staff_id"] in {s["id"] for s in listed if s["name"] == "admin"}  # create-org says whom to revoke
    last = subprocess.run([sys.executable, "-m", "server.cli", "issuer", "revoke-staff", "--org", "ngo", "--id",
                           org["staff_id"]], capture_output=True, text=True, cwd=REPO_ROOT, env=env, check=False,
                          timeout=120)
    assert last.returncode == 0 and json.loads(last.stdout)["keys_in_force"] == 0
    assert "add-staff" in last.stderr  # the operator is told how to get back in
    assert karim["api_key"] not in json.dumps(listed)

    amana("verifier", "init", "--desk", "  ", code=1)
    amana("verifier", "init", "--desk", "D" * 201, code=1)
    [first] = amana("verifier", "init", "--desk", " front desk ")
    [second] = amana("verifier", "init", "--desk", "back office")
    amana("verifier", "revoke-desk", "--id", "ffffffffffffffff", code=1)
    amana("verifier", "revoke-desk", "--id", "front desk", code=1)
    [gone] = amana("verifier", "revoke-desk", "--id", first["desk_id"].upper())
    assert gone["name"] == "front desk" and gone["revoked_at"] is not None
    desks = amana("verifier", "desks")
    assert sorted((d["id"], d["revoked_at"] is None) for d in desks) == sorted([(first["desk_id"], False),
                                                                               (second["desk_id"], True)])
    assert first["desk_key"] not in json.dumps(desks) and {d["name"] for d in desks} == {"front desk", "back office"}
    assert gone["keys_in_force"] == 1
    last_desk = subprocess.run([sys.executable, "-m", "server.cli", "verifier", "revoke-desk", "--id",
                                second["desk_id"]], capture_output=True, text=True, cwd=REPO_ROOT, env=env,
                               check=False, timeout=120)
    assert last_desk.returncode == 0 and json.loads(last_desk.stdout)["keys_in_force"] == 0
    assert "verifier init --desk" in last_desk.stderr  # as revoke-staff tells of add-staff (helper-79)


@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (.ci/run installs it)")
@pytest.mark.parametrize("width", [360, 1280])
def test_a_desk_left_open_on_a_lost_laptop_signs_itself_out(tmp_path: Path, width: int) -> None:
    """The clerk's page waits for a holder, showing a QR; the operator revokes the desk's key from a
    shell; the page, polling, turns into the sign-in page by itself (in Arabic, right to left)."""
    from playwright.sync_api import sync_playwright

    with RunningNode(tmp_path) as running:
        world = DeskWorld(running, tmp_path)
        desk_id = verifier_store.desk_id(running.app.state.verifier.node, world.desk_key)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(locale="ar", viewport={"width": width, "height": 800})
            sign_in(page, world.base, world.desk_key, "ar")
            page.locator("form.ask").first.get_by_role("button").click()
            page.wait_for_selector(".qr svg")
            env = {**os.environ, "AMANA_DATA_DIR": str(tmp_path), "AMANA_PUBLIC_BASE_URL": world.base}
            done = subprocess.run([sys.executable, "-m", "server.cli", "verifier", "revoke-desk", "--id", desk_id],
                                  capture_output=True, text=True, cwd=REPO_ROOT, env=env, check=False, timeout=120)
            assert done.returncode == 0, done.stderr
            page.wait_for_selector("input[name=desk_key]", timeout=15000)  # no reload: the page moved on
            assert page.locator("html").get_attribute("dir") == "rtl" and page.locator(".qr svg").count() == 0
            SHOTS.mkdir(exist_ok=True)
            page.screenshot(path=str(SHOTS / f"desk-revoked-ar-{width}.png"), full_page=True)
            browser.close()


def test_one_browser_stays_signed_in_to_the_console_and_the_desk(node: TestClient) -> None:
    """A clerk who issues and checks from one browser: each service has its own session cookie,
    so signing in to one does not sign them out of the other, nor does signing out of one."""
    client, issuer_ctx = node, node.app.state.issuer  # type: ignore[attr-defined]

    async def organisation() -> str:
        async with issuer_ctx.transaction() as session:
            _org, key = await issuer_store.create_org(session, issuer_ctx.node, slug="ngo", names={"en": "NGO"},
                                                      vcts=[], keep_claims_days=None, staff_name="Amal",
                                                      now=issuer_ctx.now())
        return key

    staff_key, (desk_key, _) = _run(client, organisation), _desk(client, "desk")
    client.cookies.clear()
    for page, field, key in (("/issuer/console", "api_key", staff_key), ("/verifier/desk", "desk_key", desk_key)):
        token = re.search(r'name="csrf" value="([^"]+)"', client.get(page).text)
        assert token and client.post(f"{page}/login", data={"csrf": token.group(1), field: key}).status_code == 303
    assert _signed_in_page(client, "/issuer/console") and _signed_in_page(client, "/verifier/desk")
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/verifier/desk").text)
    assert token and client.post("/verifier/desk/logout", data={"csrf": token.group(1)}).status_code == 303
    assert _signed_in_page(client, "/issuer/console") and not _signed_in_page(client, "/verifier/desk")


def test_the_audit_names_the_desk_that_asked_even_after_its_key_is_revoked(node: TestClient) -> None:
    """Which desk asked, kept by its key's digest with each line: after a lost laptop's key is
    revoked the organisation can still see what that desk checked. A check from the shell has none."""
    client, ctx = node, node.app.state.verifier  # type: ignore[attr-defined]
    key, desk_id = _desk(client, "front desk")
    digest = ctx.node.digest("desk-key", key)

    async def audited() -> list[dict[str, Any]]:
        async with ctx.transaction() as session:
            await verifier_store.audit(session, [
                AuditLine(at=1, check_name="right-to-work", vct=None, issuer=None, accepted=True, reason=None,
                          disclosed_names=["right_to_work"], desk=digest),
                AuditLine(at=2, check_name="skill-check", vct=None, issuer=None, accepted=False, reason="declined",
                          disclosed_names=[], desk=None)])
        async with ctx.transaction() as session:
            await verifier_store.revoke_desk_key(session, desk_id, ctx.now())
        async with ctx.transaction() as session:
            return await verifier_store.audit_entries(session)

    shell, by_desk = _run(client, audited)
    assert by_desk["desk"] == {"id": desk_id, "name": "front desk"} and shell["desk"] is None


@pytest.mark.parametrize("kind", ["desk", "staff"])
def test_on_postgresql_a_sign_in_racing_a_revocation_leaves_no_session(tmp_path: Path, kind: str) -> None:
    """The sign-in found the key in force; the revocation then ran while the sign-in had not yet
    written its session. The sign-in holds the key's row share-locked, so the revocation waits for
    it and ends that session too (``sessions_ended`` 1, none left). Without the lock, READ COMMITTED
    let the revocation commit first and the session stay behind, refused at use but counted nowhere.
    The revocation is given time to run before the sign-in writes: with the lock it waits whatever
    the time; without it, it finishes in that time or later, and the session stays either way."""
    url = store_url("postgresql", tmp_path)  # skips without PostgreSQL
    node_key = NodeKey(b"\x0b" * 32)
    token = new_token()

    async def story() -> tuple[int, list[str]]:
        engine = await migrated(url)
        begin = db.sessions(engine).begin
        try:
            async with begin() as s:
                if kind == "desk":
                    key = await verifier_store.add_desk_key(s, node_key, "desk", NOW)
                    subject, service = verifier_store.desk_digest(node_key, key), verifier_store.SERVICE
                else:
                    org, key = await issuer_store.create_org(s, node_key, slug="ngo", names={"en": "NGO"}, vcts=[],
                                                             keep_claims_days=None, staff_name="Amal", now=NOW)
                    service = "issuer"
            async with begin() as signing_in:
                if kind == "desk":
                    assert await verifier_store.desk_key_known(signing_in, node_key, key)

                    async def revoke() -> dict[str, Any]:
                        async with begin() as s:
                            return await verifier_store.revoke_desk_key(s, verifier_store.desk_id(node_key, key), NOW)
                else:
                    staff = await issuer_store.staff_by_api_key(signing_in, node_key, key)
                    assert staff is not None
                    subject = staff.id

                    async def revoke() -> dict[str, Any]:
                        async with begin() as s:
                            return await issuer_store.revoke_staff(s, org.id, subject, NOW)

                revoking = asyncio.create_task(revoke())
                await asyncio.sleep(0.5)
                await sessions.start(signing_in, node_key, service, subject, token, NOW)
            revoked = await revoking
            async with begin() as s:
                left = await s.execute(select(sessions.ConsoleSession.service)
                                       .where(sessions.ConsoleSession.subject == subject))
                return revoked["sessions_ended"], list(left.scalars())
        finally:
            await engine.dispose()

    assert asyncio.run(story()) == (1, [])
