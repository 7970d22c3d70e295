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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
        assert not clerk.problems, clerk.problems

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
    shown = asyncio.run(_check(desk, desk.qr(desk.credential(good), ("given_name",))))
    assert shown["accepted"] and shown["credentials"][0]["claims"] == {"given_name": "Layla"}
    audit = asyncio.run(entries())
    mine = [e for e in audit if e["check"] == offline.CHECK_NAME]
    assert mine and mine[0]["disclosed_names"] == ["given_name"] and "Layla" not in repr(audit)


async def _check(desk: OfflineDesk, text: str) -> dict[str, Any]:
    from verifier import offline
    from verifier.context import VerifierContext

    ctx = VerifierContext.create(desk.node.settings)
    try:
        return await offline.check(ctx, text)
    finally:
        await ctx.engine.dispose()


def test_a_malformed_or_foreign_code_is_refused_in_words(desk: OfflineDesk) -> None:
    import asyncio

    for text in ("AO1:", "AO1:%%%%", "AO1:" + "A" * 3000):
        shown = asyncio.run(_check(desk, text))
        assert shown["accepted"] is False and shown["credentials"] == []


def test_scan_recognises_offline_qr_text() -> None:
    from verifier.pages import scanned_kind

    assert scanned_kind("AO1:6BF") == "offline"
    assert scanned_kind("AON1:ABC") == "unsupported"  # a desk's nonce QR is for the holder's wallet
