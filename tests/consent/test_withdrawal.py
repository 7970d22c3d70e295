"""Withdrawal end to end over HTTP on loopback (issue 14, holder rights): a holder who shared with
consent (GDPR Art. 6(1)(a)) withdraws in one call; the ledger's notice reaches the node's verifier
by its webhook, which confirms deletion with a JWS by its registered key — or, when the webhook
fails, retries back off and the verifier's silence past the deadline is recorded. The wallet sees
each state and every receipt still verifies. A legal-obligation disclosure cannot be withdrawn."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from consent import notify, schedule
from consent.context import ConsentContext
from core import _jose, keys
from core.errors import InvalidInput
from core.trust.model import AccreditedIssuer, PurposeRegistration, RegisteredVerifier, parse
from core.trust.operator import new_draft, put_verifier_purpose, sign_draft
from tests.node import RunningNode
from tests.test_verifier_flow import HR, STATUS_VCT, World
from tests.test_wallet_copies import Holder
from wallet import ledger, rights


async def _no_rounds(_ctx: ConsentContext) -> None:
    """The node's own ledger rounds, left out (see ``world``)."""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    data_dir = tmp_path_factory.mktemp("withdrawal")
    # The ledger's rounds are the test's alone (schedule.tick, with a failing webhook where it wants
    # one): the node's own round, every 30 s of real time with the real webhook, would deliver the
    # "silent" notice and have it confirmed whenever it fell between the withdrawal and the test's round.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(schedule, "run", _no_rounds)
        with RunningNode(data_dir) as node:
            world = World(node, data_dir)
            _register_with_consent(world)
            yield world


def _register_with_consent(world: World) -> None:
    """Re-sign the trust list with the verifier's purpose on the holder's consent (before any
    check has cached the first list), under a fresh governance key."""
    from verifier import store
    from verifier.context import VerifierContext

    async def identity_jwks() -> dict[str, Any]:
        # A context of its own: the node's engine belongs to the node's event loop, not this one.
        ctx = VerifierContext.create(world.node.settings)
        try:
            async with ctx.transaction() as session:
                identity = await store.identity(session, ctx.node, ctx.settings.verifier_name, ctx.now())
        finally:
            await ctx.engine.dispose()
        return keys.jwks([identity.key.public_key(), identity.did_key.public_key()])

    jwks = asyncio.run(identity_jwks())
    registration = parse(PurposeRegistration, {"purpose": HR, "legal_basis": "https://w3id.org/dpv#Consent",
                                               "credentials": [{"vct": STATUS_VCT, "claims": [["right_to_work"],
                                                                                              ["valid_until"]]}]})
    verifier = parse(RegisteredVerifier, {"id": world.node.settings.verifier_id, "names": {"en": "Employer"},
                                          "jwks": jwks, "registrations": [registration.model_dump()]})
    trust_dir = world.data_dir / "trust"
    old = json.loads(_payload(trust_dir / "trust-list.jwt"))
    issuers = [parse(AccreditedIssuer, issuer) for issuer in old["issuers"]]  # models, as the draft holds them
    draft = new_draft("https://governance.amana.test").model_copy(update={"issuers": issuers})
    draft = put_verifier_purpose(draft, verifier, registration)[0]
    governance = keys.generate()
    (trust_dir / "trust-list.jwt").write_text(sign_draft(draft, governance, int(time.time()))[0])
    (trust_dir / "governance.jwks.json").write_text(json.dumps(keys.jwks([governance.public_key()])))


def _payload(path: Path) -> str:
    from core.encoding import b64url_decode

    return b64url_decode(path.read_text().strip().split(".")[1]).decode()


def test_withdrawal_confirmed_by_the_verifier_and_silence_recorded(world: World, tmp_path: Path) -> None:
    shutil.copytree(world.data_dir / "trust", tmp_path / "holder" / "trust")

    async def failing(_url: str, _body: dict[str, Any]) -> int:
        return 503

    async def story() -> None:
        # The ledger's scheduler over a context of its own: the node's engine belongs to the
        # node's event loop (asyncpg refuses another), this one to the test's; same database.
        consent = ConsentContext.create(world.node.settings)
        try:
            await steps(consent)
        finally:
            await consent.engine.dispose()

    async def steps(consent: ConsentContext) -> None:
        async with Holder(world, tmp_path / "holder") as h:
            await h.receive(3)
            trust = world.verifier_ctx().trust_list()
            ids = []
            for _ in range(2):
                result, _asked = await h.present()
                assert result["accepted"] is True, result
                ids.append(str(h.opened.contents.history[-1].receipt["record_id"]))  # type: ignore[index]
                h.opened = await rights.refresh_waiting(h.ctx, h.opened, h.http)
            confirmed, silent = ids
            pointers = {h.receipt["record_id"]: h.receipt for h in h.opened.contents.history if h.receipt}
            assert all(ledger.withdrawable(pointers[i]) for i in ids)

            # confirmed: the notice goes out (from the database), the verifier confirms by JWS
            h.opened = await rights.withdraw(h.ctx, h.opened, h.http, confirmed)
            pointer = next(x.receipt for x in h.opened.contents.history
                           if x.receipt and x.receipt["record_id"] == confirmed)
            assert ledger.state(pointer) == "withdrawn" and not ledger.withdrawable(pointer)
            with pytest.raises(InvalidInput):  # a second withdrawal of the same consent: refused
                await rights.withdraw(h.ctx, h.opened, h.http, confirmed)
            await schedule.tick(consent, purge=False)
            assert await notify.notice_state(consent.ledger, confirmed) == "confirmed"

            # silence: the webhook fails, retries back off, the deadline passes
            h.opened = await rights.withdraw(h.ctx, h.opened, h.http, silent)
            assert (await schedule.tick(consent, failing, purge=False))["delivered"] == 0
            assert (await schedule.tick(consent, failing, purge=False))["delivered"] == 0  # not due yet
            consent.offset = notify.DEADLINE_S + 1
            try:
                assert (await schedule.tick(consent, failing, purge=False))["silent"] == 1
            finally:
                consent.offset = 0
            assert await notify.notice_state(consent.ledger, silent) == "silent"

            h.opened = await rights.refresh_waiting(h.ctx, h.opened, h.http)
            states = {x.receipt["record_id"]: x.receipt for x in h.opened.contents.history if x.receipt}
            assert ledger.state(states[confirmed]) == "confirmed" and ledger.state(states[silent]) == "silent"
            assert ledger.check(states[confirmed], trust) and ledger.check(states[silent], trust)
            # The verifier's own signed "deleted" came with its event, for the holder to keep and show
            # (helper-84: the ledger checked it and threw it away); one not the verifier's fails the check.
            [answer] = [r for r in states[confirmed]["receipts"] if r["event"] == "deletion_confirmed"]
            said = _jose.parse_compact(answer["receipt"], "confirmation")
            assert said.unverified_header["typ"] == "amana-consent-deletion+jwt"
            assert said.unverified_payload()["record_id"] == confirmed
            forged = json.loads(json.dumps(states[confirmed]))
            [item] = [r for r in forged["receipts"] if r["event"] == "deletion_confirmed"]
            item["receipt"] = notify.confirmation(keys.generate("ES256"), world.node.settings.verifier_id, confirmed,
                                                  said.unverified_payload()["iat"])
            assert not ledger.check(forged, trust)
            other = json.loads(json.dumps(states[confirmed]))
            [item] = [r for r in other["receipts"] if r["event"] == "deletion_confirmed"]
            [silent_item] = [r for r in states[silent]["receipts"] if r["event"] == "given"]
            item["receipt"] = silent_item["receipt"]  # a receipt of another kind in its place
            assert not ledger.check(other, trust)
            unsigned = json.loads(json.dumps(states[confirmed]))
            [item] = [r for r in unsigned["receipts"] if r["event"] == "deletion_confirmed"]
            item["receipt"] = None  # the ledger's word alone: any ledger could write that event
            assert not ledger.check(unsigned, trust)
            identity = await world.verifier_ctx().identity()
            [withdrawal] = [r for r in states[confirmed]["receipts"] if r["event"] == "withdrawn"]
            early = json.loads(json.dumps(states[confirmed]))
            [item] = [r for r in early["receipts"] if r["event"] == "deletion_confirmed"]
            item["receipt"] = notify.confirmation(identity.key, world.node.settings.verifier_id, confirmed,
                                                  withdrawal["at"] - 3600)  # the verifier's key, before it was asked
            assert not ledger.check(early, trust)
            exported = rights.export(h.opened)
            events = [[e["event"] for e in r["record"]["events"]] for r in exported["records"]]
            assert ["given", "withdrawn", "deletion_confirmed"] in events
            assert ["given", "withdrawn", "deletion_unconfirmed"] in events

    asyncio.run(story())


def test_backoff_doubles_and_is_capped() -> None:
    assert [notify.backoff(n) for n in range(4)] == [30, 60, 120, 240]
    assert notify.backoff(100) == notify.MAX_RETRY_S
