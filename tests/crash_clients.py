"""The clients of the crash test (tests/test_crashes.py): wallets, a class desk and a status desk
running against a node that is killed under them, each writing down only what the node
acknowledged (an HTTP 200/201 with a body), so the test can later ask the database and the
node whether everything acknowledged is still there.

A request cut off by a kill is *lost*: the node may or may not have committed it. Each client
then does what a real one may do (issuer/api.py's docstring): a wallet repeats a lost token
request once and accepts ``invalid_grant`` (the code is single use: staff make a new offer),
repeats a lost credential request byte for byte (the node keeps the answer for
``RETRY_WINDOW_S``) and must get it; the status desk repeats a lost change, whose refusal then
means "already so"; the class desk just goes on (a lost class is all its offers or none).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from core import _jose, keys
from core.oid4vc import PRE_AUTHORIZED_GRANT, PROOF_TYP
from core.statuslist import INVALID, SUSPENDED, VALID

SKILL = json.loads(Path("specs/credentials/SkillCertificate/example.json").read_text())
CLASS_DEFAULTS = {k: v for k, v in SKILL.items() if k not in ("given_name", "family_name")}
# What a refused repeat of a lost change says when the change had been made after all.
ALREADY = {"revoke": "a revoked credential stays revoked", "suspend": "the credential is already suspended",
           "reinstate": "only a suspended credential can be reinstated"}
TARGET = {"revoke": INVALID, "suspend": SUSPENDED, "reinstate": VALID}
NAMES = {VALID: "valid", INVALID: "revoked", SUSPENDED: "suspended"}


class Lost(Exception):
    """The node died before answering: the request may or may not have been committed."""


@dataclass
class Issued:
    offer_id: str
    reference: str  # the offer's staff reference: the staff list finds its credentials by it
    credentials: list[str]  # the SD-JWT VCs the wallet was given
    thumbprints: set[str]  # of the holder keys it proved


@dataclass
class Ledger:
    """What the node acknowledged, and what went wrong in a way no crash excuses."""

    offers: dict[str, int] = field(default_factory=dict)  # acknowledged offer id -> batch size
    tokens: Counter[str] = field(default_factory=Counter)  # offer id -> access tokens given (200)
    answers: dict[str, set[bytes]] = field(default_factory=dict)  # access token -> distinct 200 bodies
    issued: dict[str, Issued] = field(default_factory=dict)  # offer id -> what its wallet holds
    classes: dict[str, int] = field(default_factory=dict)  # every class sent: reference -> rows
    classes_acknowledged: dict[str, list[str]] = field(default_factory=dict)  # reference -> offer ids
    status: dict[str, int] = field(default_factory=dict)  # offer id -> status its last acknowledged change set
    outcomes: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    inflight: Counter[str] = field(default_factory=Counter)


class Node:
    """The clients' view of the node across restarts: ``up`` while it answers, ``kills`` so far."""

    def __init__(self, base: str, api_key: str, ledger: Ledger) -> None:
        self.base, self.api_key, self.ledger = base, api_key, ledger
        self.up, self.stop, self.kills = asyncio.Event(), asyncio.Event(), 0
        self.restarted = asyncio.Condition()
        # No kept-alive connections: a pooled connection to a killed process would fail the
        # next request after the restart, which was then never sent at all.
        self.http = httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_keepalive_connections=0))

    async def send(self, kind: str, method: str, url: str, **options: Any) -> httpx.Response:
        """One request; ``Lost`` if a kill cut it off (after the node is back). A 5xx is an error."""
        await self.up.wait()
        before = self.kills
        self.ledger.inflight[kind] += 1
        try:
            response = await self.http.request(method, url, **options)
        except httpx.TransportError as exc:
            if self.kills == before and self.up.is_set():
                self.ledger.errors.append(f"{kind}: transport error with no kill: {exc!r}")
            async with self.restarted:
                await self.restarted.wait_for(lambda: self.up.is_set() and self.kills > before)
            raise Lost(kind) from None
        finally:
            self.ledger.inflight[kind] -= 1
        if response.status_code >= 500:
            self.ledger.errors.append(f"{kind}: {response.status_code} {response.text[:200]}")
        return response

    def staff(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


async def wallet(node: Node, rng: random.Random, name: str) -> None:
    """Whole OpenID4VCI flows (staff offer, offer, token with PIN, nonce, credential), batch 1 or 3."""
    issuer = f"{node.base}/issuers/crash"
    flow = 0
    while not node.stop.is_set():
        flow += 1
        batch = rng.choice((1, 3))
        made = await _until_answered(
            node, "offer", "POST", f"{node.base}/api/issuer/offers", headers=node.staff(), retry_lost=False,
            json={"type": "SkillCertificate", "claims": SKILL, "batch_size": batch, "reference": f"{name} flow {flow}"})
        if made is None:
            continue  # lost: maybe made, maybe not; a new offer replaces it (the old one just expires)
        if made.status_code != 201:
            node.ledger.errors.append(f"offer: {made.status_code} {made.text[:200]}")
            continue
        created = made.json()
        node.ledger.offers[created["offer_id"]] = batch
        uri = parse_qs(urlsplit(created["link"]).query)["credential_offer_uri"][0]
        got = await _until_answered(node, "offer fetch", "GET", uri)
        assert got is not None
        if got.status_code != 200:  # an acknowledged offer is never lost
            node.ledger.errors.append(f"acknowledged offer {created['offer_id']}: {got.status_code}")
            continue
        code = got.json()["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"]
        form = {"grant_type": PRE_AUTHORIZED_GRANT, "pre-authorized_code": code, "tx_code": created["pin"]}
        token = await _token(node, issuer, form, created["offer_id"])
        if token is None:
            continue
        nonce = await _until_answered(node, "nonce", "POST", f"{issuer}/nonce")
        assert nonce is not None
        holder_keys = [keys.generate() for _ in range(batch)]
        proofs = [_jose.sign_compact({"typ": PROOF_TYP, "jwk": k.public_key().to_jwk()},
                                     {"aud": issuer, "iat": int(time.time()), "nonce": nonce.json()["c_nonce"]}, k)
                  for k in holder_keys]
        body = json.dumps({"credential_configuration_id": "SkillCertificate", "proofs": {"jwt": proofs}}).encode()
        await _credential(node, issuer, token, body, Issued(created["offer_id"], created["reference"], [],
                                                            {k.public_key().thumbprint() for k in holder_keys}))


async def _until_answered(node: Node, kind: str, method: str, url: str, *, retry_lost: bool = True,
                          **options: Any) -> httpx.Response | None:
    while True:
        try:
            return await node.send(kind, method, url, **options)
        except Lost:
            node.ledger.outcomes[f"{kind} lost"] += 1
            if not retry_lost:
                return None


async def _token(node: Node, issuer: str, form: dict[str, str], offer_id: str) -> str | None:
    """The access token, or None when a lost answer spent the code (the repeat's clean refusal)."""
    repeat = False
    while True:
        try:
            answer = await node.send("token", "POST", f"{issuer}/token", data=form)
        except Lost:
            node.ledger.outcomes["token lost"] += 1
            repeat = True
            continue
        if answer.status_code == 200:
            node.ledger.tokens[offer_id] += 1
            node.ledger.outcomes["token repeated: answered" if repeat else "token"] += 1
            access: str = answer.json()["access_token"]
            return access
        if repeat and answer.status_code == 400 and answer.json().get("error") == "invalid_grant":
            node.ledger.outcomes["token repeated: invalid_grant (code spent by the lost answer)"] += 1
            return None
        node.ledger.errors.append(f"token (repeat: {repeat}): {answer.status_code} {answer.text[:200]}")
        return None


async def _credential(node: Node, issuer: str, token: str, body: bytes, issued: Issued) -> None:
    repeat = False
    while True:
        try:
            answer = await node.send("credential", "POST", f"{issuer}/credential", content=body,
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        except Lost:
            node.ledger.outcomes["credential lost"] += 1
            repeat = True
            continue
        if answer.status_code != 200:  # the same request repeated within the window must be answered
            node.ledger.errors.append(f"credential (repeat: {repeat}): {answer.status_code} {answer.text[:200]}")
            return
        node.ledger.outcomes["credential repeated: answered" if repeat else "credential"] += 1
        node.ledger.answers.setdefault(token, set()).add(answer.content)
        issued.credentials.extend(c["credential"] for c in answer.json()["credentials"])
        node.ledger.issued[issued.offer_id] = issued
        node.ledger.status[issued.offer_id] = VALID
        return


async def class_desk(node: Node, rng: random.Random) -> None:
    """Class batches from CSV, each with its own reference; a lost one is not sent again."""
    sent = 0
    while not node.stop.is_set():
        sent += 1
        reference, rows = f"class {sent}", rng.randint(5, 40)
        csv = "given_name,family_name\n" + "".join(f"Trainee{i},Family{i}\n" for i in range(rows))
        node.ledger.classes[reference] = rows
        try:
            made = await node.send(
                "class", "POST", f"{node.base}/api/issuer/classes", headers=node.staff(),
                json={"type": "SkillCertificate", "csv": csv, "defaults": CLASS_DEFAULTS, "reference": reference})
        except Lost:
            node.ledger.outcomes["class lost"] += 1
            continue
        if made.status_code != 201 or made.json()["errors"]:
            node.ledger.errors.append(f"class: {made.status_code} {made.text[:200]}")
            continue
        node.ledger.classes_acknowledged[reference] = [o["offer_id"] for o in made.json()["offers"]]
        node.ledger.outcomes["class"] += 1


async def status_desk(node: Node, rng: random.Random, share: int, of: int) -> None:
    """Revoke, suspend and reinstate issued batches (its ``share`` of them: no two desks change
    one batch at once, so the last acknowledged change is the batch's status)."""
    while not node.stop.is_set():
        mine = [o for o in node.ledger.status if hash(o) % of == share and node.ledger.status[o] != INVALID]
        if not mine:
            await asyncio.sleep(0.05)  # pacing only: waits for the wallets to be given something
            continue
        offer_id = rng.choice(mine)
        current = node.ledger.status[offer_id]
        action = rng.choice(("suspend", "revoke") if current == VALID else ("reinstate", "revoke", "reinstate"))
        reference = node.ledger.issued[offer_id].reference
        listed = await _until_answered(node, "status", "GET", f"{node.base}/api/issuer/credentials",
                                       params={"reference": reference}, headers=node.staff())
        assert listed is not None
        copies = [c["id"] for c in listed.json()] if listed.status_code == 200 else []
        if len(copies) != len(node.ledger.issued[offer_id].credentials):
            node.ledger.errors.append(f"staff list of {reference!r}: {listed.status_code} {listed.text[:200]}")
            continue
        await _change(node, offer_id, rng.choice(copies), action)


async def _change(node: Node, offer_id: str, credential_id: str, action: str) -> None:
    url = f"{node.base}/api/issuer/credentials/{credential_id}/{action}"
    repeat = False
    while True:
        try:
            answer = await node.send("status", "POST", url, headers=node.staff())
        except Lost:
            node.ledger.outcomes["status change lost"] += 1
            repeat = True
            continue
        if answer.status_code == 200 and answer.json()["status"] == NAMES[TARGET[action]]:
            node.ledger.status[offer_id] = TARGET[action]
            node.ledger.outcomes["status change repeated: made" if repeat else "status change"] += 1
            return
        problem: dict[str, Any] = answer.json() if answer.status_code == 400 else {}
        if repeat and problem.get("code") == "status_change_refused" and problem.get("detail") == ALREADY[action]:
            node.ledger.status[offer_id] = TARGET[action]  # the lost change had been made
            node.ledger.outcomes["status change repeated: already made by the lost one"] += 1
            return
        node.ledger.errors.append(f"{action} (repeat: {repeat}): {answer.status_code} {answer.text[:200]}")
        return
