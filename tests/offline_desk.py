"""A verifier desk on a real node (loopback) that holds what an offline desk holds: a trust list
accrediting a crafted issuer, and signed copies of that issuer's status lists — and compact
credentials from that issuer, shown as offline QRs. The issuer's host does not exist: nothing
on the offline path can reach it. Helpers only; no test here."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import uuid
from pathlib import Path
from typing import Any

from core import keys
from core import offline as codec
from core.settings import REPO_ROOT
from core.statuslist import StatusList, sign_token
from core.trust.model import AccreditedIssuer, parse
from core.trust.operator import new_draft, put_issuer, sign_draft
from tests.node import RunningNode
from tests.verifier_desk import _init_desk
from verifier import store
from verifier.context import VerifierContext

SKILL_VCT = "urn:amana:credential:SkillCertificate:1"
STATUS_VCT = "urn:amana:credential:RegistrationStatus:1"
SKILL = json.loads((REPO_ROOT / "specs/credentials/SkillCertificate/example.json").read_text())
ISSUER = "https://issuer.offline.test/issuers/trainers"  # no such host: the desk can only use its cache
OTHER = "https://other.offline.test/issuers/city"  # accredited, but for RegistrationStatus only
DAY = 86400


class OfflineDesk:
    def __init__(self, node: RunningNode, data_dir: Path) -> None:
        self.node, self.base = node, node.base
        self.issuer_key, self.other_key, governance = keys.generate(), keys.generate(), keys.generate()
        self.desk_key, _jwks = asyncio.run(_init_desk(node.settings))
        draft = new_draft("https://governance.amana.test")
        trainers = {"en": "Open Doors", "ar": "الأبواب المفتوحة"}
        for iss, key, vcts, names in ((ISSUER, self.issuer_key, [SKILL_VCT], trainers),
                                      (OTHER, self.other_key, [STATUS_VCT], {"en": "City"})):
            draft = put_issuer(draft, parse(AccreditedIssuer, {
                "id": iss, "names": names, "jwks": keys.jwks([key.public_key()]), "vcts": vcts, "valid_from": 0}))[0]
        trust_dir = data_dir / "trust"
        trust_dir.mkdir(exist_ok=True)
        (trust_dir / "trust-list.jwt").write_text(sign_draft(draft, governance, int(time.time()))[0])
        (trust_dir / "governance.jwks.json").write_text(json.dumps(keys.jwks([governance.public_key()])))
        self.fetched: list[str] = []
        fetcher = self.ctx.fetcher
        real_get = fetcher.get

        async def recorded(url: str, *args: Any, **kwargs: Any) -> Any:  # the network to the issuer is cut
            self.fetched.append(url)
            return await real_get(url, *args, **kwargs)

        fetcher.get = recorded  # type: ignore[method-assign]

    @property
    def ctx(self) -> VerifierContext:
        ctx: VerifierContext = self.node.app.state.verifier
        return ctx

    def hold_list(self, statuses: dict[int, int], *, expired: bool = False, key: keys.PrivateKey | None = None,
                  issuer: str = ISSUER, number: int | None = None, sub: str | None = None) -> str:
        """A status list signed by the issuer, as ``amana verifier sync`` leaves it in the desk's
        database; returns the list id (a UUID's hex, under the issuer's node), or with ``number``
        that number (the list at ``<issuer>/status/<number>``). ``expired``: a copy whose ``exp``
        has passed; ``sub``: a token made for another URI than the one it is kept at."""
        list_id = secrets.token_hex(16) if number is None else str(number)
        uri = (f"{issuer.split('/issuers/')[0]}/status/{list_id}" if number is None
               else f"{issuer}/status/{number}")
        status_list = StatusList.empty(1024)
        for idx, value in statuses.items():
            status_list.set(idx, value)
        now = int(time.time())
        iat = now - 3 * DAY if expired else now - 60
        token = sign_token(status_list, uri=sub or uri, key=key or self.issuer_key, now=iat, ttl=3600, exp=iat + DAY)

        async def keep() -> None:
            ctx = VerifierContext.create(self.node.settings)
            async with ctx.transaction() as session:
                await store.keep_status_list(session, uri, token, iat)
            await ctx.engine.dispose()

        asyncio.run(keep())
        return list_id

    def credential(self, list_id: str, idx: int = 3, *, key: keys.PrivateKey | None = None,
                   vct: str = SKILL_VCT, claims: dict[str, Any] | None = None,
                   ) -> tuple[bytes, dict[str, bytes], keys.PrivateKey]:
        holder, now = keys.generate("ES256"), int(time.time())
        ref: codec.StatusRef = int(list_id) if len(list_id) < 32 else str(uuid.UUID(hex=list_id))
        cred, disclosures = codec.issue_compact(claims or SKILL, vct, key or self.issuer_key, holder.public_key(),
                                                status=(ref, idx), iat=now - now % DAY,
                                                exp=now - now % DAY + 30 * DAY)
        return cred, disclosures, holder

    @staticmethod
    def qr(issued: tuple[bytes, dict[str, bytes], keys.PrivateKey], names: tuple[str, ...] = ("skill", "eqf_level",
           "given_name"), *, nonce: bytes | None = None, w: int = 120) -> str:
        cred, disclosures, holder = issued
        return codec.present(cred, [disclosures[n] for n in names], holder, int(time.time()), w, nonce)
