"""A PIN typed in Persian or Arabic-Indic digits, or with spaces, is the same PIN (issue 10
item 7) at the token endpoint and in our wallet; a wrong one is still counted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from core.oid4vc import PRE_AUTHORIZED_GRANT
from issuer.offers import MAX_PIN_FAILURES
from issuer.tables import Offer
from tests.oid4vci_wallet import Wallet
from tests.test_verifier_flow import TYPES
from wallet.receive import receive

SKILL_EXAMPLE = json.loads(Path("specs/credentials/SkillCertificate/example.json").read_text())
PERSIAN, ARABIC_INDIC = "۰۱۲۳۴۵۶۷۸۹", "٠١٢٣٤٥٦٧٨٩"


def _typed(pin: str, script: str) -> str:
    """As a person types it: native digits, grouped by a no-break space, a trailing space."""
    native = "".join(script[int(d)] for d in pin)
    return f"{native[:3]}\u00a0{native[3:]} "


def _start(client: TestClient, key: str) -> tuple[Wallet, dict[str, Any], str, str, str]:
    offer = client.post("/api/issuer/offers", headers={"Authorization": f"Bearer {key}"},
                        json={"type": "SkillCertificate", "claims": SKILL_EXAMPLE}).json()
    wallet = Wallet(client)
    o = wallet.offer(offer["link"])
    meta = wallet.metadata(o["credential_issuer"])
    return wallet, meta, o["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"], offer["pin"], offer["offer_id"]


def _failures(client: TestClient, offer_id: str) -> int:
    ctx = client.app.state.issuer  # type: ignore[attr-defined]

    async def read() -> int:
        async with ctx.transaction() as session:
            offer = await session.get(Offer, offer_id)
            return int(offer.pin_failures)

    return int(client.portal.call(read))  # type: ignore[union-attr]


@pytest.mark.parametrize("script", [PERSIAN, ARABIC_INDIC], ids=["persian", "arabic-indic"])
def test_the_right_pin_in_native_digits_with_spaces_is_accepted(app_and_key: tuple[TestClient, str],
                                                                 script: str) -> None:
    client, key = app_and_key
    wallet, meta, code, pin, offer_id = _start(client, key)
    r = wallet.token(meta, code, _typed(pin, script))
    assert r.status_code == 200, r.text
    assert _failures(client, offer_id) == 0


def test_a_wrong_pin_in_native_digits_is_still_counted_and_locks(app_and_key: tuple[TestClient, str]) -> None:
    client, key = app_and_key
    wallet, meta, code, pin, offer_id = _start(client, key)
    wrong = f"{(int(pin) + 1) % 10**6:06d}"
    assert wallet.token(meta, code, _typed(wrong, PERSIAN)).json()["error"] == "invalid_grant"
    assert _failures(client, offer_id) == 1
    assert wallet.token(meta, code, pin + "x").json()["error"] == "invalid_grant"  # not digits: a wrong PIN
    assert _failures(client, offer_id) == 2
    for _ in range(MAX_PIN_FAILURES - 2):
        wallet.token(meta, code, _typed(wrong, ARABIC_INDIC))
    assert wallet.token(meta, code, _typed(pin, PERSIAN)).json()["error"] == "invalid_grant"  # locked for good


def test_our_wallet_sends_a_native_digit_pin_as_ascii(app_and_key: tuple[TestClient, str]) -> None:
    client, key = app_and_key
    offer = client.post("/api/issuer/offers", headers={"Authorization": f"Bearer {key}"},
                        json={"type": "SkillCertificate", "claims": SKILL_EXAMPLE}).json()
    sent: list[bytes] = []

    async def run() -> int:
        async def note(request: httpx.Request) -> None:
            if request.url.path.endswith("/token"):
                sent.append(request.content)

        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, event_hooks={"request": [note]}) as http:
            return len(await receive(http, offer["qr_link"], _typed(offer["pin"], PERSIAN), copies=1, types=TYPES))

    assert client.portal.call(run) == 1  # type: ignore[union-attr]
    assert f"tx_code={offer['pin']}".encode() in sent[0]
