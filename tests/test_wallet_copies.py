"""Copies run low (issue 12 item 7), end to end over HTTP on loopback against a node: the wallet keeps
the issuer's refresh token in the vault, presents until one unused copy is left, then fetches fresh
copies (new keys, each checked) — and not before; a revocation at the issuer reaches the refreshed
copies at the verifier and ends the grant; without a grant the card warns before its last copy.
``amana wallet list`` shows the count and the warning, ``amana wallet refresh`` refuses a card
without a token. Plus the pure rules of wallet.copies, and a vault written before refresh tokens."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.settings import REPO_ROOT, Settings
from tests.node import RunningNode
from tests.test_verifier_flow import STATUS_EXAMPLE, STATUS_VCT, World
from wallet import copies, flows, holder, refresh
from wallet.consent import CardOption
from wallet.content import Contents, Copy, Refresh
from wallet.vault import KdfParams

PASS = "Zq7 the holder's own passphrase"
FAST = KdfParams(opslimit=1, memlimit=8192)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    data_dir = tmp_path_factory.mktemp("copies")
    with RunningNode(data_dir) as node:
        yield World(node, data_dir)


class Holder:
    """A wallet on its own data directory, driven through wallet.flows as the CLI and pages do."""

    def __init__(self, world: World, data_dir: Path) -> None:
        self.world, self.data_dir = world, data_dir
        self.settings = Settings(data_dir=data_dir, public_base_url=world.base)

    async def __aenter__(self) -> Holder:
        self.ctx = await holder.WalletContext.open(self.settings, kdf=FAST)
        wallet_id, _code = await holder.create(self.ctx, PASS, "Amal")
        self.opened = await holder.unlock(self.ctx, wallet_id, PASS)
        self.http = flows.http_client(self.settings)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.http.aclose()
        await self.ctx.engine.dispose()

    async def receive(self, batch: int) -> str:
        body = {"type": "RegistrationStatus", "claims": STATUS_EXAMPLE, "batch_size": batch}
        offer = (await self.http.post(f"{self.world.base}/api/issuer/offers", json=body,
                                      headers={"Authorization": f"Bearer {self.world.city['api_key']}"})).json()
        offered = await flows.look_at_offer(self.ctx, self.http, offer["link"], "en")
        self.opened, kept = await flows.accept_offer(self.ctx, self.opened, self.http, offered, offer["pin"],
                                                     copies=batch, allow_unregistered=True)
        return kept[0].batch

    async def present(self) -> tuple[dict[str, Any], flows.Asked]:
        check = await self.world.check(self.http)
        asked = await flows.open_request(self.ctx, self.opened, self.http, check["link"], "en")
        self.opened = (await flows.give(self.ctx, self.opened, self.http, asked, flows.default_choice(asked.screen),
                                        heeded_warning=True)).opened
        self.world.verifier_ctx().fetcher.forget()  # status read afresh, not from a list cached within its ttl
        result: dict[str, Any] = (await self.world.result(self.http, check)).json()
        return result, asked

    def card(self, card_id: str) -> list[Copy]:
        return self.opened.contents.batches()[card_id]


def _revoke(world: World, http_base: str, thumbprint_of: Copy) -> None:
    from core import keys

    async def go() -> None:
        async with httpx.AsyncClient(timeout=10) as http:
            staff = {"Authorization": f"Bearer {world.city['api_key']}"}
            listed = (await http.get(f"{http_base}/api/issuer/credentials?limit=500", headers=staff)).json()
            thumbprint = keys.PrivateKey.from_jwk(thumbprint_of.holder_key).public_key().thumbprint()
            mine = next(c for c in listed if c["holder_key_thumbprint"] == thumbprint)
            r = await http.post(f"{http_base}/api/issuer/credentials/{mine['id']}/revoke", headers=staff)
            assert r.status_code == 200, r.text

    asyncio.run(go())


def test_presenting_until_one_copy_is_left_fetches_fresh_ones_that_share_the_originals_fate(
        world: World, tmp_path: Path) -> None:
    async def story() -> None:
        async with Holder(world, tmp_path / "holder") as h:
            card = await h.receive(3)
            grant = h.opened.contents.refresh[card]
            assert (grant.copies, grant.issuer) == (3, world.city["issuer"])
            first_token = grant.token

            result, _ = await h.present()  # 2 unused left: nothing fetched, nothing else changed
            assert result["accepted"] is True, result
            assert [len(h.card(card)), copies.unused(h.card(card))] == [3, 2]
            assert h.opened.contents.refresh[card].token == first_token and len(h.opened.contents.history) == 1

            result, asked = await h.present()  # 1 unused left: nothing fetched behind the holder's back...
            assert result["accepted"] is True and not copies.screen_notices(asked.screen)
            assert [len(h.card(card)), copies.unused(h.card(card))] == [3, 1]
            h.opened, _ = await refresh.top_up(h.ctx, h.opened, h.http, copies.low(h.opened.contents))  # ...until asked
            held = h.card(card)
            assert [len(held), copies.unused(held)] == [6, 4]
            assert h.opened.contents.refresh[card].token not in (first_token, None)
            assert len(h.opened.contents.history) == 2  # a refresh is not a presentation
            originals, fresh = held[:3], held[3:]
            assert len({json.dumps(c.holder_key, sort_keys=True) for c in held}) == 6  # a new key per copy
            assert len({json.dumps(c.claims["status"], sort_keys=True) for c in held if c.claims}) == 6
            assert all(c.claims and c.claims["right_to_work"] is True and c.valid_until == originals[0].valid_until
                       for c in fresh)
            assert all(c.shown_to is None for c in fresh)

            result, _ = await h.present()  # the last original goes; three fresh ones stay unused
            assert result["accepted"] is True and copies.unused(h.card(card)) == 3

            await asyncio.to_thread(_revoke, world, world.base, originals[0])  # an original copy revoked...
            result, _ = await h.present()  # ...and a fresh copy is shown: revoked too
            assert h.opened.contents.history[-1].copy_ids[0] in {c.copy_id for c in fresh}
            assert result["accepted"] is False and result["reason"] == "revoked", result

            h.opened, [outcome] = await refresh.top_up(h.ctx, h.opened, h.http, [card])  # the grant died with it
            assert outcome.error == "refresh_refused" and card not in h.opened.contents.refresh
            left = copies.copies_left(card, h.card(card), card in h.opened.contents.refresh)
            assert (left.copies_left, left.refreshable) == (2, False) and left.warning is None

    asyncio.run(story())


def test_without_a_grant_the_holder_is_warned_before_the_last_copy_and_the_cli_says_so(
        world: World, tmp_path: Path) -> None:
    async def story() -> str:
        async with Holder(world, tmp_path / "holder") as h:
            card = await h.receive(2)
            h.opened, _ = await holder.update(h.ctx, h.opened, lambda c: c.refresh.clear())  # as from an issuer
            # that gives no refresh token (or one that died)
            _, asked = await h.present()
            assert copies.screen_notices(asked.screen) == {}  # two were fresh
            check = await world.check(h.http)
            asked = await flows.open_request(h.ctx, h.opened, h.http, check["link"], "en")
            notices = copies.screen_notices(asked.screen)
            assert notices == {("registration", card): copies.Notice.LAST_COPY}  # before the last one goes
            h.opened = (await flows.give(h.ctx, h.opened, h.http, asked, flows.default_choice(asked.screen),
                                         heeded_warning=True)).opened
            assert [len(h.card(card)), copies.unused(h.card(card))] == [2, 0]  # nothing fetched: no grant
            return card

    card = asyncio.run(story())
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMANA_") and k != "DATABASE_URL"}
    env |= {"AMANA_DATA_DIR": str(tmp_path / "holder"), "AMANA_PUBLIC_BASE_URL": world.base,
            "AMANA_WALLET_PASSPHRASE": PASS}

    def cli(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([sys.executable, "-m", "server.cli", "wallet", *args], capture_output=True, text=True,
                              cwd=REPO_ROOT, env=env, check=False, timeout=120)
        assert (done.returncode == 0) == ok, done.stderr
        return done

    [listed] = json.loads(cli("list").stdout)["cards"]
    assert (listed["card"], listed["copies"], listed["copies_left"], listed["refreshable"]) == (card, 2, 0, False)
    assert listed["warning"]["code"] == "none_left" and "link" in listed["warning"]["message"]
    refused = cli("refresh", "--card", card, ok=False)
    assert json.loads(refused.stderr.splitlines()[-1])["code"] == "invalid_input"


# --- the pure rules ---------------------------------------------------------------------


def _copy(n: int, shown_to: str | None = None, batch: str = "b") -> Copy:
    return Copy(f"c{n}", "cred", {}, STATUS_VCT, "https://i.example", batch, 0, shown_to=shown_to,
                claims={"right_to_work": True, "iat": n, "cnf": {"n": n}, "status": {"idx": n}})


def test_the_warnings_per_card() -> None:
    two, one, none = [_copy(1), _copy(2)], [_copy(1, "v"), _copy(2)], [_copy(1, "v")]
    assert copies.copies_left("b", two, False).warning is None
    assert copies.copies_left("b", one, False).warning is copies.Notice.LAST_COPY
    assert copies.copies_left("b", one, True).warning is None  # fresh copies will come
    assert copies.copies_left("b", none, True).warning is copies.Notice.NONE_LEFT  # ...but have not
    option = CardOption("b", "c2", fresh=True, fresh_copies=1, name="x", claim_sets=(0,))
    renewable = CardOption("b", "c2", fresh=True, fresh_copies=1, name="x", claim_sets=(0,), refreshable=True)
    assert copies.notice(option) is copies.Notice.LAST_COPY and copies.notice(renewable) is None
    seen = CardOption("b", "c1", fresh=False, fresh_copies=0, name="x", claim_sets=(0,), refreshable=True)
    assert copies.notice(seen) is copies.Notice.SEEN_BEFORE


def test_low_cards_claims_and_rotation() -> None:
    contents = Contents(copies=[_copy(1, "v"), _copy(2), _copy(3, batch="other"), _copy(4, batch="other")],
                        refresh={"b": Refresh("https://i.example", "RegistrationStatus", "t1", 2),
                                 "other": Refresh("https://i.example", "RegistrationStatus", "t2", 2)})
    assert copies.low(contents) == ["b"]  # "other" still has two unused
    assert copies.claim(contents, "b", 1000).token == "t1"
    with pytest.raises(copies.NotNow):
        copies.claim(contents, "b", 1000 + copies.PENDING_S - 1)  # a refresh under way: never the token twice
    copies.claim(contents, "b", 1000 + copies.PENDING_S)  # an interrupted one does not block for ever
    copies.rotated(contents, "b", "stale", "t9")  # an answer for a token no longer held changes nothing
    assert contents.refresh["b"].token == "t1"
    copies.rotated(contents, "b", "t1", "t3")
    assert (contents.refresh["b"].token, contents.refresh["b"].pending_since) == ("t3", None)
    copies.rotated(contents, "b", "t3", None)
    assert "b" not in contents.refresh
    held = [_copy(1)]
    assert copies.same_credential(held, STATUS_VCT, "https://i.example", {"right_to_work": True, "iat": 9})
    assert not copies.same_credential(held, STATUS_VCT, "https://i.example", {"right_to_work": False})
    assert not copies.same_credential(held, STATUS_VCT, "https://other.example", {"right_to_work": True})


def test_a_vault_written_before_refresh_tokens_still_opens() -> None:
    old = json.loads(Contents(name="n", copies=[_copy(1)]).to_bytes())
    del old["refresh"]
    contents = Contents.from_bytes(json.dumps(old).encode())
    assert contents.refresh == {} and copies.low(contents) == []
    again = Contents.from_bytes(Contents(refresh={"b": Refresh("i", "c", "t", 3)}).to_bytes())
    assert again.refresh["b"].token == "t"


def test_the_grant_keeps_its_dpop_key_and_every_refresh_proves_it(world: World, tmp_path: Path) -> None:
    """RFC 9449 section 5: the node binds the refresh token to the key the wallet redeemed the code with
    (the wallet uses DPoP where the issuer announces it). The vault keeps that key with the grant, and
    both paths that spend the grant prove it: the compact offline copy (wallet.offline_keep: its start
    rotates the grant, its finish sends the credential request with the bound access token) and fresh
    copies (wallet.refresh)."""
    import time

    from core import _jose, keys
    from core.oid4vc import PROOF_TYP
    from wallet import offline_keep

    async def story() -> None:
        async with Holder(world, tmp_path / "holder") as h:
            card = await h.receive(2)
            grant = h.opened.contents.refresh[card]
            assert grant.dpop_key is not None and "d" in grant.dpop_key
            ticket = await offline_keep.start(h.ctx, h.opened, h.http, card)
            h.opened = await holder.unlock(h.ctx, h.opened.wallet_id, PASS)
            rotated = h.opened.contents.refresh[card]
            assert rotated.token != grant.token and rotated.dpop_key == grant.dpop_key
            device = keys.generate("ES256")
            proof = _jose.sign_compact({"typ": PROOF_TYP, "jwk": device.public_key().to_jwk()},
                                       {"aud": ticket["aud"], "nonce": ticket["nonce"], "iat": int(time.time())},
                                       device)
            kept = await offline_keep.finish(h.ctx, h.opened, h.http, card, ticket["ticket"], proof)
            assert kept["id"] == card and kept["disclosures"] and kept["cred"]  # the compact copy, issued
            h.opened, [outcome] = await refresh.top_up(h.ctx, h.opened, h.http, [card])
            assert outcome.error is None and outcome.fetched == 2, outcome

    asyncio.run(story())
