"""A node whose desk is registered for two of the four questions (right to work, skill check)
and two accredited issuers (a city for registration status, trainers for skills): what the
desk page tests need. Helpers only; no test here."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import httpx

from core import keys
from core.settings import REPO_ROOT
from core.trust.model import AccreditedIssuer, PurposeRegistration, RegisteredVerifier, parse
from core.trust.operator import new_draft, put_issuer, put_verifier_purpose, sign_draft
from tests.node import RunningNode
from tests.test_verifier_flow import HR, SKILL_VCT, STATUS_EXAMPLE, STATUS_VCT, TYPES, _cli
from wallet import present as wallet
from wallet.receive import Received, receive

T = TypeVar("T")
SKILL_EXAMPLE = json.loads((REPO_ROOT / "specs/credentials/SkillCertificate/example.json").read_text())


class DeskWorld:
    def __init__(self, node: RunningNode, data_dir: Path) -> None:
        self.node, self.base = node, node.base
        self.city = _cli(data_dir, self.base, "issuer", "create-org", "--slug", "city", "--name", "en=City",
                         "--type", "RegistrationStatus", "--jwks-out", str(data_dir / "city.jwks"))
        self.trainers = _cli(data_dir, self.base, "issuer", "create-org", "--slug", "trainers", "--name",
                             "en=Open Doors", "--type", "SkillCertificate", "--jwks-out", str(data_dir / "t.jwks"))
        desk = _cli(data_dir, self.base, "verifier", "init")
        self.desk_key = desk["desk_key"]
        governance = keys.generate()
        draft = new_draft("https://governance.amana.test")
        for org, jwks, vct, names in ((self.city, "city.jwks", STATUS_VCT, {"en": "City"}),
                                      (self.trainers, "t.jwks", SKILL_VCT, {"en": "Open Doors", "fr": "Portes"})):
            draft = put_issuer(draft, parse(AccreditedIssuer, {
                "id": org["issuer"], "names": names, "jwks": json.loads((data_dir / jwks).read_text()),
                "vcts": [vct], "valid_from": 0}))[0]
        registration = parse(PurposeRegistration, {
            "purpose": HR, "legal_basis": "https://w3id.org/dpv#LegalObligation",
            "credentials": [{"vct": STATUS_VCT, "claims": [["right_to_work"], ["valid_until"]]},
                            {"vct": SKILL_VCT, "claims": [["skill"], ["eqf_level"]]}]})
        verifier = parse(RegisteredVerifier, {"id": desk["verifier_id"], "names": {"en": "Employer"},
                                              "jwks": desk["jwks"], "registrations": [registration.model_dump()]})
        draft = put_verifier_purpose(draft, verifier, registration)[0]
        trust_dir = data_dir / "trust"
        trust_dir.mkdir(exist_ok=True)
        (trust_dir / "trust-list.jwt").write_text(sign_draft(draft, governance, int(time.time()))[0])
        (trust_dir / "governance.jwks.json").write_text(json.dumps(keys.jwks([governance.public_key()])))

    def issue(self, kind: str) -> Received:
        org, claims = (self.trainers, SKILL_EXAMPLE) if kind == "SkillCertificate" else (self.city, STATUS_EXAMPLE)

        async def run() -> Received:
            async with httpx.AsyncClient(timeout=10) as http:
                offer = (await http.post(f"{self.base}/api/issuer/offers", json={"type": kind, "claims": claims},
                                         headers={"Authorization": f"Bearer {org['api_key']}"})).json()
                [received] = await receive(http, offer["link"], offer["pin"], copies=1, types=TYPES)
                return received

        return in_thread(run)


def in_thread(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine on its own thread: Playwright's sync API owns this thread's event loop."""
    out: list[T] = []
    worker = threading.Thread(target=lambda: out.append(asyncio.run(make())))
    worker.start()
    worker.join(timeout=60)
    assert out, "the coroutine failed (see the thread's traceback above)"
    return out[0]


def answer_from_phone(link: str, query_id: str, received: Received) -> None:
    """The holder's wallet answers the desk's request."""

    async def answer() -> str | None:
        async with httpx.AsyncClient(timeout=10) as http:
            request = await wallet.fetch_request(http, link)
            vp = wallet.vp_token(request, {query_id: (received.credential, received.holder_key)}, int(time.time()))
            response = await wallet.answer(http, request, vp)
            return None if response.status_code == 200 else response.text

    failure = in_thread(answer)
    assert failure is None, failure


def sign_in(page: Any, base: str, desk_key: str, lang: str) -> None:
    from core import i18n

    page.goto(f"{base}/verifier/desk?lang={lang}")
    page.fill("input[name=desk_key]", desk_key)
    page.get_by_role("button", name=i18n.t(lang, "console.login")).click()
    page.wait_for_selector("form.ask")


def page_width(page: Any) -> int:
    width: int = page.evaluate("document.documentElement.scrollWidth")
    return width
