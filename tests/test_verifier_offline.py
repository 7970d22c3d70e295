"""The desk checks an offline QR (issue 13 item 4) from its cache alone, in a real browser: a PNG
of the holder's QR (core.offline.present + the project's QR renderer) is read on the device by
the scan page, posted, and verified from the held trust list and held status-list copies. The
issuer's host does not exist, and every fetch the node tries is recorded: there must be none.

Each refusal a clerk meets is shown in words in the page's language: replay, wrong nonce,
revoked and suspended (from the cached list), issuer not accredited, and a status that cannot be
known offline (the cached list expired) — "unknown", never valid. A paper QR says so plainly.
At 360 and 1280 px, in English and Arabic; screenshots under /tmp/amana-shots."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from core import i18n, qr
from core import offline as codec
from core.statuslist import INVALID, SUSPENDED
from tests.browser import SHOTS, chromium, decode_qr_codes, needs_chromium
from tests.node import RunningNode
from tests.offline_desk import OTHER, OfflineDesk

PAPER_W = 30 * 86400


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OfflineDesk]:
    data_dir = tmp_path_factory.mktemp("offline-desk")
    with RunningNode(data_dir) as node:
        yield OfflineDesk(node, data_dir)


class Clerk:
    """A signed-in desk page in a browser of ``width`` px, in ``lang``."""

    def __init__(self, browser: Any, desk: OfflineDesk, lang: str, width: int, tmp: Path) -> None:
        self.desk, self.lang, self.tmp = desk, lang, tmp
        self.page = browser.new_page(locale=lang, viewport={"width": width, "height": 900})
        self.problems: list[str] = []
        self.page.on("console", lambda m: self.problems.append(m.text) if m.type == "error" else None)
        self.page.goto(f"{desk.base}/verifier/desk?lang={lang}")
        self.page.fill("input[name=desk_key]", desk.desk_key)
        self.page.press("input[name=desk_key]", "Enter")
        self.page.wait_for_selector("#offline-check")

    def offline_screen(self, shot: str) -> bytes:
        """The nonce the offline screen shows, read from a screenshot as the holder's phone would."""
        self.page.goto(f"{self.desk.base}/verifier/desk/offline?lang={self.lang}")
        png = self.page.screenshot(full_page=True)
        (SHOTS / f"{shot}.png").write_bytes(png)
        [text] = decode_qr_codes(png)
        return codec.parse_nonce_qr(text)

    def scan(self, text: str, shot: str, *, from_page: str = "scan") -> str:
        """Show ``text`` as a PNG to the scan page's photo input; the verdict's words."""
        photo = self.tmp / f"{shot}.png"
        photo.write_bytes(qr.png(text))
        if from_page == "scan":
            self.page.goto(f"{self.desk.base}/verifier/desk/scan?lang={self.lang}")
        self.page.set_input_files("#photo", str(photo))
        self.page.wait_for_selector("#verdict", timeout=20000)
        self.page.screenshot(path=str(SHOTS / f"offline-{shot}.png"), full_page=True)
        return str(self.page.locator("#verdict").inner_text())

    @property
    def accepted(self) -> bool:
        """Green (and its heading says so in the page's language); else red."""
        heading = self.page.locator("#verdict h1").inner_text()
        green = self.page.locator("#verdict.ok").count() == 1
        assert heading.endswith(i18n.t(self.lang, "desk.accepted" if green else "desk.refused"))
        return green


def _reason(lang: str, code: str) -> str:
    return i18n.t(lang, f"desk.reason.{code}")


@needs_chromium
@pytest.mark.parametrize(("lang", "width"), [("en", 1280), ("ar", 360)])
def test_the_desk_checks_offline_qrs_from_its_cache_alone(desk: OfflineDesk, tmp_path: Path, lang: str,
                                                          width: int) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    good = desk.hold_list({})
    revoked, suspended = desk.hold_list({3: INVALID}), desk.hold_list({3: SUSPENDED})
    stale = desk.hold_list({}, expired=True)
    other = desk.credential(desk.hold_list({}, key=desk.other_key, issuer=OTHER), key=desk.other_key)
    with chromium() as browser:
        clerk = Clerk(browser, desk, lang, width, tmp_path)
        tag = f"{lang}-{width}"

        # The offline screen's nonce, signed into the holder's QR: accepted, labelled, from the cache.
        nonce = clerk.offline_screen(f"offline-nonce-{tag}")
        verdict = clerk.scan(desk.qr(desk.credential(good), nonce=nonce), f"accepted-{tag}", from_page="offline")
        assert clerk.accepted, verdict
        assert "operate forklift" in verdict and "Layla" in verdict  # the disclosed values
        assert "Haddad" not in verdict  # not disclosed
        source = clerk.page.locator("#offline-source").inner_text()
        assert source.startswith(i18n.t(lang, "desk.offline_from_cache", when="")[:12])
        assert not clerk.page.locator("#paper").count()

        # The same nonce again (a second QR signing it): refused, the nonce was spent.
        assert _reason(lang, "nonce_mismatch") in clerk.scan(desk.qr(desk.credential(good), nonce=nonce),
                                                             f"nonce-spent-{tag}")
        # A nonce this desk never showed.
        assert _reason(lang, "nonce_mismatch") in clerk.scan(
            desk.qr(desk.credential(good), nonce=secrets.token_bytes(8)), f"wrong-nonce-{tag}")
        assert clerk.page.locator("#offline-source").count() == 0  # refused before any list was read

        # A screen QR without a nonce: accepted once; shown again inside its window, a replay.
        screen = desk.qr(desk.credential(good))
        clerk.scan(screen, f"screen-{tag}")
        assert clerk.accepted
        assert _reason(lang, "replayed") in clerk.scan(screen, f"replay-{tag}")

        # Revoked and suspended, from the cached list.
        assert _reason(lang, "revoked") in clerk.scan(desk.qr(desk.credential(revoked)), f"revoked-{tag}")
        assert clerk.page.locator("#offline-source").count() == 1  # the list it rests on, and when it was synced
        assert _reason(lang, "suspended") in clerk.scan(desk.qr(desk.credential(suspended)), f"suspended-{tag}")

        # An issuer the trust list accredits, but not for this type.
        assert _reason(lang, "issuer_not_accredited") in clerk.scan(desk.qr(other), f"not-accredited-{tag}")

        # The held copy of the list has expired, and the issuer cannot be reached: unknown, refused.
        verdict = clerk.scan(desk.qr(desk.credential(stale)), f"unknown-{tag}")
        assert _reason(lang, "status_unknown") in verdict and i18n.t(lang, "desk.status.unknown") in verdict
        assert not clerk.accepted
        assert clerk.page.locator("#offline-source").inner_text() == i18n.t(lang, "desk.offline_no_list")

        # A paper QR (a long window): accepted, and the page says what paper means.
        clerk.scan(desk.qr(desk.credential(good), w=PAPER_W), f"paper-{tag}")
        assert clerk.accepted
        assert clerk.page.locator("#paper").inner_text() == i18n.t(lang, "desk.paper")
        # The one-time result, again in another language (posted back sealed: nothing was kept).
        other_lang = "fa" if lang == "ar" else "ar"
        clerk.page.locator(f"nav.langs button[value={other_lang}]").click()
        clerk.page.wait_for_selector(f"html[lang={other_lang}]")
        assert clerk.page.locator("#paper").inner_text() == i18n.t(other_lang, "desk.paper")
        assert clerk.page.locator("#verdict.ok").count() == 1
        clerk.page.screenshot(path=str(SHOTS / f"offline-paper-{tag}-then-{other_lang}.png"), full_page=True)
        assert not clerk.problems, clerk.problems
    import asyncio

    scanned = [e for e in asyncio.run(_audit(desk.node)) if e["check"] == "offline-qr" and e["desk"] is not None]
    assert scanned  # a scan at the desk's page is audited with the desk that scanned it

    assert desk.fetched == []  # no status list, no issuer metadata: nothing was fetched


def test_the_desk_audit_keeps_names_never_values(desk: OfflineDesk) -> None:
    async def entries() -> list[dict[str, Any]]:
        from verifier import store
        from verifier.context import VerifierContext

        ctx = VerifierContext.create(desk.node.settings)
        async with ctx.transaction() as session:
            found = await store.audit_entries(session, 500)
        await ctx.engine.dispose()
        return found

    import asyncio

    from verifier import offline

    good = desk.hold_list({})
    shown = asyncio.run(_check(desk.node, desk.qr(desk.credential(good), ("given_name",))))
    assert shown["accepted"] and shown["credentials"][0]["claims"] == {"given_name": "Layla"}
    audit = asyncio.run(entries())
    mine = [e for e in audit if e["check"] == offline.CHECK_NAME]
    assert mine and mine[0]["disclosed_names"] == ["given_name"] and "Layla" not in repr(audit)


async def _audit(node: RunningNode) -> list[dict[str, Any]]:
    from verifier import store
    from verifier.context import VerifierContext

    ctx = VerifierContext.create(node.settings)
    try:
        async with ctx.transaction() as session:
            return await store.audit_entries(session, 500)
    finally:
        await ctx.engine.dispose()


async def _check(node: RunningNode, text: str) -> dict[str, Any]:
    """The desk's check, in this process, on the node's database and trust list."""
    from verifier import offline
    from verifier.context import VerifierContext

    ctx = VerifierContext.create(node.settings)
    try:
        return await offline.check(ctx, text, None)
    finally:
        await ctx.engine.dispose()


def test_a_malformed_or_foreign_code_is_refused_in_words(desk: OfflineDesk) -> None:
    import asyncio

    for text in ("AO1:", "AO1:%%%%", "AO1:" + "A" * 3000):
        shown = asyncio.run(_check(desk.node, text))
        assert shown["accepted"] is False and shown["credentials"] == []


def test_scan_recognises_offline_qr_text() -> None:
    from verifier.pages import scanned_kind

    assert scanned_kind("AO1:6BF") == "offline"
    assert scanned_kind("AON1:ABC") == "unsupported"  # a desk's nonce QR is for the holder's wallet


async def _compact_copy(http: Any, world: Any, device: Any) -> tuple[bytes, dict[str, bytes]]:
    """A compact copy (issuer.offline) of a skill certificate from ``world``'s trainers, bound to ``device``."""
    from core import _jose
    from core.offline import parse_issued
    from core.oid4vc import PRE_AUTHORIZED_GRANT, PROOF_TYP
    from tests.desk_world import SKILL_EXAMPLE

    staff = {"Authorization": f"Bearer {world.trainers['api_key']}"}
    made = (await http.post(f"{world.base}/api/issuer/offers", headers=staff,
                            json={"type": "SkillCertificate", "claims": SKILL_EXAMPLE})).json()
    offer = (await http.get(unquote(made["link"].split("credential_offer_uri=")[1]))).json()
    iss = offer["credential_issuer"]
    token = (await http.post(f"{iss}/token", data={
        "grant_type": PRE_AUTHORIZED_GRANT, "tx_code": made["pin"],
        "pre-authorized_code": offer["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"]})).json()
    c_nonce = (await http.post(f"{iss}/nonce")).json()["c_nonce"]
    proof = _jose.sign_compact({"typ": PROOF_TYP, "jwk": device.public_key().to_jwk()},
                               {"aud": iss, "iat": int(time.time()), "nonce": c_nonce}, device)
    r = await http.post(f"{iss}/credential", headers={"Authorization": f"Bearer {token['access_token']}"},
                        json={"credential_configuration_id": "SkillCertificate_offline", "proofs": {"jwt": [proof]}})
    assert r.status_code == 200, r.text
    return parse_issued(str(r.json()["credentials"][0]["credential"]))


def test_a_compact_copy_from_this_nodes_issuer_passes_the_desk_until_a_synced_list_says_revoked(
        tmp_path: Path) -> None:
    """End to end on one node: its issuer's compact copy (issuer.offline) names a list the desk
    does not hold yet: unknown, and noted; ``amana verifier sync`` fetches it; the desk answers from
    the copy it holds, so a revocation reaches it when the list is synced, not before."""
    import asyncio

    import httpx

    from core import keys
    from tests.desk_world import DeskWorld
    from verifier import checks
    from verifier.context import VerifierContext

    with RunningNode(tmp_path) as node:
        world = DeskWorld(node, tmp_path)
        org = world.trainers
        device = keys.generate("ES256")

        async def sync() -> None:  # `amana verifier sync`, in this process
            ctx = VerifierContext.create(node.settings)
            await checks.sync(ctx, None)
            await ctx.engine.dispose()

        async def story() -> list[dict[str, Any]]:
            async with httpx.AsyncClient(timeout=10) as http:
                cred, disclosures = await _compact_copy(http, world, device)

                def shown(n: int) -> str:  # another choice each time: the same QR twice would be a replay
                    return codec.present(cred, disclosures[:n], device, int(time.time()), 120, None)

                never_synced = await _check(node, shown(1))  # the desk has not got this list yet
                await sync()  # it fetches the list the desk noted
                first = await _check(node, shown(2))
                listed = (await http.get(f"{world.base}/api/issuer/credentials",
                                         headers={"Authorization": f"Bearer {org['api_key']}"})).json()
                r = await http.post(f"{world.base}/api/issuer/credentials/{listed[0]['id']}/revoke",
                                    headers={"Authorization": f"Bearer {org['api_key']}"})
                assert r.status_code == 200, r.text
                before_sync = await _check(node, shown(3))
                await sync()
                after_sync = await _check(node, shown(4))
                return [never_synced, first, before_sync, after_sync]

        never_synced, first, before_sync, after_sync = asyncio.run(story())
    assert not never_synced["accepted"] and never_synced["reason"] == "status_unknown", never_synced
    assert first["accepted"] and first["credentials"][0]["issuer"] == org["issuer"], first
    assert before_sync["accepted"], before_sync  # the desk answers from what it holds: the list it synced before
    assert not after_sync["accepted"] and after_sync["reason"] == "revoked"


@needs_chromium
def test_the_clerk_fetches_the_lists_from_a_result_the_desk_could_not_check(tmp_path: Path) -> None:
    """A node whose desk never synced: the first offline code from its own issuer is refused as
    unknown, and the result page offers to fetch the status lists now; the clerk presses it, the
    scan page says they are up to date, and the next code passes. Before, only someone at the
    shell (`amana verifier sync`) could mend it, and the clerk turned the holder away (helper-83)."""
    import asyncio

    import httpx

    from core import keys
    from tests.desk_world import DeskWorld

    with RunningNode(tmp_path) as node:
        world, device = DeskWorld(node, tmp_path), keys.generate("ES256")

        async def copy() -> tuple[bytes, dict[str, bytes]]:
            async with httpx.AsyncClient(timeout=10) as http:
                return await _compact_copy(http, world, device)

        cred, disclosures = asyncio.run(copy())
        SHOTS.mkdir(parents=True, exist_ok=True)
        with chromium() as browser:
            clerk = Clerk(browser, world, "ar", 360, tmp_path)  # type: ignore[arg-type]
            verdict = clerk.scan(codec.present(cred, disclosures[:1], device, int(time.time()), 120, None),
                                 "never-synced-ar-360")
            assert _reason("ar", "status_unknown") in verdict and not clerk.accepted
            clerk.page.locator("#sync-now button").click()
            clerk.page.wait_for_selector("#nonce-qr")
            assert i18n.t("ar", "desk.synced") in clerk.page.locator("main").inner_text()
            clerk.page.screenshot(path=str(SHOTS / "offline-synced-ar-360.png"), full_page=True)
            clerk.scan(codec.present(cred, disclosures[:2], device, int(time.time()), 120, None),
                       "after-sync-ar-360", from_page="offline")
            assert clerk.accepted
            assert not clerk.problems, clerk.problems


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_offline_store_spends_a_nonce_once_and_sees_a_binding_once(backend: str, tmp_path: Path) -> None:
    """verifier.store on both databases: a nonce is live until spent (once) or expired; a binding
    is new once inside its window, new again after it; a held list is found by its last segment
    only (a ``%`` or ``_`` in a segment is a character, not a wildcard)."""
    import asyncio

    from core import db
    from core.settings import Settings
    from tests.server_process import POSTGRES_URL, empty_postgres
    from verifier import store
    from verifier.context import VerifierContext

    if backend == "postgresql":
        if not POSTGRES_URL:
            pytest.skip("no PostgreSQL (.ci/run starts one)")
        empty_postgres(POSTGRES_URL)
    settings = Settings(data_dir=tmp_path, database_url=POSTGRES_URL if backend == "postgresql" else None)

    async def run() -> None:
        ctx = VerifierContext.create(settings)
        await db.upgrade(ctx.engine)
        node, now, nonce, binding = ctx.node, 1_000_000, secrets.token_bytes(8), secrets.token_bytes(32)
        async with ctx.transaction() as s:
            await store.add_offline_nonce(s, node, nonce, now + 600, now)
        async with ctx.transaction() as s:
            assert await store.offline_nonce_live(s, node, nonce, now)
            assert not await store.offline_nonce_live(s, node, secrets.token_bytes(8), now)
            assert await store.spend_offline_nonce(s, node, nonce, now)
        async with ctx.transaction() as s:
            assert not await store.spend_offline_nonce(s, node, nonce, now)  # once
            await store.add_offline_nonce(s, node, nonce, now + 600, now)
        async with ctx.transaction() as s:
            assert not await store.spend_offline_nonce(s, node, nonce, now + 600)  # expired
        async with ctx.transaction() as s:
            assert await store.first_showing(s, node, binding, now + 180, now)
        async with ctx.transaction() as s:
            assert not await store.first_showing(s, node, binding, now + 180, now + 179)  # a replay
        async with ctx.transaction() as s:
            assert await store.first_showing(s, node, binding, now + 500, now + 180)  # its window is over
            for uri in ("https://a.test/status/ab", "https://a.test/status/xab", "https://a.test/status/a_"):
                await store.keep_status_list(s, uri, "token", now)
        async with ctx.transaction() as s:
            assert [c[0] for c in await store.status_list_copies_at(s, ["https://a.test/status/ab"])] == [
                "https://a.test/status/ab"]
            assert await store.status_list_copies_at(s, ["https://a.test/status/a%"]) == []
            assert await store.status_list_copies_at(s, []) == []
        await ctx.engine.dispose()

    asyncio.run(run())


def test_a_key_rotated_in_since_the_trust_list_is_taken_from_held_issuer_metadata_only(desk: OfflineDesk) -> None:
    """A compact credential signed with a key the trust list lacks: refused, unless this process
    holds the accredited issuer's ``jwt-vc-issuer`` document with that key (held, never fetched)."""
    import asyncio
    import json

    from core import keys
    from core.fetch import Fetched
    from core.oid4vc import well_known
    from tests.offline_desk import ISSUER
    from verifier import checks, offline
    from verifier.context import VerifierContext

    rotated, good = keys.generate(), desk.hold_list({})

    async def run() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        ctx = VerifierContext.create(desk.node.settings)
        try:
            refused = await offline.check(ctx, desk.qr(desk.credential(good, key=rotated)), None)
            metadata = {"issuer": ISSUER, "jwks": keys.jwks([desk.issuer_key.public_key(), rotated.public_key()])}
            ctx.fetcher.remember(Fetched(well_known(ISSUER, "jwt-vc-issuer"), json.dumps(metadata).encode(),
                                         "application/json", time.time()), 3600)
            accepted = await offline.check(ctx, desk.qr(desk.credential(good, key=rotated)), None)
            # The desk's "Get the status lists now" runs in this very process: it drops the lists it
            # fetches again from the cache, not the held metadata the rotated key comes from (helper-85).
            before = len(desk.fetched)
            await checks.sync(ctx, None)
            del desk.fetched[before:]  # the sync's own fetches: the offline checks around it fetch nothing
            after_sync = await offline.check(ctx, desk.qr(desk.credential(good, key=rotated)), None)
            return refused, accepted, after_sync
        finally:
            await ctx.engine.dispose()

    refused, accepted, after_sync = asyncio.run(run())
    assert not refused["accepted"] and refused["reason"] == "issuer_not_accredited", refused
    assert accepted["accepted"], accepted
    assert after_sync["accepted"], after_sync  # the list the sync fetched was already held: nothing else changed


def test_a_numbered_list_is_read_only_at_its_issuers_uri_and_only_if_signed_for_it(desk: OfflineDesk) -> None:
    """A compact copy naming list ``n`` (what the node's issuer writes) is checked against the
    copy held at ``<its issuer>/status/<n>`` and nothing else: another issuer's list with the
    same number, or the issuer's own token made for another URI (``sub``), leave the status
    unknown — refused — and the exact URI is noted for the next sync; the right copy decides."""
    import asyncio

    from tests.offline_desk import ISSUER
    from verifier import offline, store
    from verifier.context import VerifierContext

    desk.hold_list({}, key=desk.other_key, issuer=OTHER, number=5)  # another issuer's list 5
    desk.hold_list({}, number=6, sub=f"{ISSUER}/status/5")  # kept at /6, made for /5
    desk.hold_list({}, number=7, sub=f"{ISSUER.split('/issuers/')[0]}/status/7")  # made for the node's /status/7

    async def run(*numbers: int) -> list[dict[str, Any]]:
        ctx = VerifierContext.create(desk.node.settings)
        try:
            return [await offline.check(ctx, desk.qr(desk.credential(str(n))), None) for n in numbers]
        finally:
            await ctx.engine.dispose()

    async def noted() -> list[str]:
        ctx = VerifierContext.create(desk.node.settings)
        try:
            async with ctx.transaction() as session:
                return await store.status_list_uris(session)
        finally:
            await ctx.engine.dispose()

    for result in asyncio.run(run(5, 6, 7)):
        assert not result["accepted"] and result["reason"] == "status_unknown", result
    assert {f"{ISSUER}/status/{n}" for n in (5, 6, 7)} <= set(asyncio.run(noted()))
    desk.hold_list({}, number=8)
    desk.hold_list({3: INVALID}, number=9)
    accepted, revoked = asyncio.run(run(8, 9))
    assert accepted["accepted"], accepted
    assert not revoked["accepted"] and revoked["reason"] == "revoked", revoked
    assert desk.fetched == []
