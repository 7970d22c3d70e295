"""Verifier service (issue 5): OpenID4VP end to end over real HTTP on loopback, its refusals,
three-valued status, and what it keeps (nothing but names)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from core import db, keys, qr
from core.credtypes import load_registry
from core.every import Every
from core.sdjwt import present
from core.settings import REPO_ROOT, Settings
from core.trust.model import AccreditedIssuer, PurposeRegistration, RegisteredVerifier, parse
from core.trust.operator import new_draft, put_issuer, put_verifier_purpose, sign_draft
from tests.node import RunningNode
from tests.raw_files import stored_bytes
from wallet import present as wallet
from wallet.receive import Received, receive

TYPES = load_registry(Settings().specs_dir)
STATUS_VCT = "urn:amana:credential:RegistrationStatus:1"
SKILL_VCT = "urn:amana:credential:SkillCertificate:1"
HR = "https://w3id.org/dpv#HumanResourceManagement"
STATUS_EXAMPLE = json.loads((REPO_ROOT / "specs/credentials/RegistrationStatus/example.json").read_text())


def _cli(data_dir: Path, base: str, *args: str, database_url: str | None = None) -> dict[str, Any]:
    env = {**os.environ, "AMANA_DATA_DIR": str(data_dir), "AMANA_PUBLIC_BASE_URL": base}
    if database_url:
        env["AMANA_DATABASE_URL"] = database_url
    done = subprocess.run([sys.executable, "-m", "server.cli", *args], capture_output=True, text=True, cwd=REPO_ROOT,
                          env=env, check=True)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


class World:
    def __init__(self, node: RunningNode, data_dir: Path, database_url: str | None = None) -> None:
        self.node, self.base, self.data_dir = node, node.base, data_dir

        def cli(*args: str) -> dict[str, Any]:
            return _cli(data_dir, self.base, *args, database_url=database_url)

        self.city = cli("issuer", "create-org", "--slug", "city", "--name", "en=City",
                        "--type", "RegistrationStatus", "--jwks-out", str(data_dir / "city.jwks"))
        self.rogue = cli("issuer", "create-org", "--slug", "rogue", "--name", "en=Rogue",
                         "--type", "RegistrationStatus", "--jwks-out", str(data_dir / "rogue.jwks"))
        self.unlisted = cli("issuer", "create-org", "--slug", "unlisted", "--name", "en=Unlisted",
                            "--type", "RegistrationStatus")
        desk = cli("verifier", "init")
        self.desk_key, self.desk_id = desk["desk_key"], desk["desk_id"]
        governance = keys.generate()
        draft = new_draft("https://governance.amana.test")
        for org, jwks, vct in ((self.city, "city.jwks", STATUS_VCT), (self.rogue, "rogue.jwks", SKILL_VCT)):
            # the rogue is accredited, but for skills only
            draft = put_issuer(draft, parse(AccreditedIssuer, {
                "id": org["issuer"], "names": {"en": "x"}, "jwks": json.loads((data_dir / jwks).read_text()),
                "vcts": [vct], "valid_from": 0}))[0]
        registration = parse(PurposeRegistration, {"purpose": HR, "legal_basis": "https://w3id.org/dpv#LegalObligation",
                                                   "credentials": [{"vct": STATUS_VCT, "claims": [["right_to_work"],
                                                                                                  ["valid_until"]]}]})
        verifier = parse(RegisteredVerifier, {"id": desk["verifier_id"], "names": {"en": "Employer"},
                                              "jwks": desk["jwks"], "registrations": [registration.model_dump()]})
        draft = put_verifier_purpose(draft, verifier, registration)[0]
        trust_dir = data_dir / "trust"
        trust_dir.mkdir(exist_ok=True)
        (trust_dir / "trust-list.jwt").write_text(sign_draft(draft, governance, int(time.time()))[0])
        (trust_dir / "governance.jwks.json").write_text(json.dumps(keys.jwks([governance.public_key()])))

    async def issue(self, http: httpx.AsyncClient, api_key: str, claims: dict[str, Any] | None = None,
                    valid_days: int | None = None) -> Received:
        body = {"type": "RegistrationStatus", "claims": claims or STATUS_EXAMPLE, "valid_days": valid_days}
        offer = (await http.post(f"{self.base}/api/issuer/offers", headers={"Authorization": f"Bearer {api_key}"},
                                 json=body)).json()
        [received] = await receive(http, offer["link"], offer["pin"], copies=1, types=TYPES)
        return received

    async def check(self, http: httpx.AsyncClient, query: str = "right-to-work", **extra: Any) -> dict[str, Any]:
        r = await http.post(f"{self.base}/api/verifier/checks", json={"query": query, **extra},
                            headers={"Authorization": f"Bearer {self.desk_key}"})
        assert r.status_code == 201, r.text
        created: dict[str, Any] = r.json()
        return created

    async def result(self, http: httpx.AsyncClient, check: dict[str, Any], polls: int = 300, *,
                     take_hint: bool = True) -> httpx.Response:
        """The desk's answer once the check is no longer pending. The node answers the wallet after
        at most ``verifier_answer_wait_s`` (3 s) and finishes a slower check in the background, so
        the desk asks again while it says pending, as its page does (bounded: ``polls`` times 0.1 s).
        ``take_hint``: an answer in which nothing held (or a decline) leaves the check open, and the
        desk takes it as the result (``close``), as its button does; else the pending answer."""
        for _ in range(polls):
            r = await http.post(f"{self.base}/api/verifier/checks/{check['id']}/result",
                                json={"result_key": check["result_key"]},
                                headers={"Authorization": f"Bearer {self.desk_key}"})
            if r.status_code != 202:
                return r
            if r.json()["declined"]:
                if not take_hint:
                    return r
                return await http.post(f"{self.base}/api/verifier/checks/{check['id']}/result",
                                       json={"result_key": check["result_key"], "close": True},
                                       headers={"Authorization": f"Bearer {self.desk_key}"})
            await asyncio.sleep(0.1)
        raise AssertionError(f"the check stayed pending: {r.text}")

    def verifier_ctx(self) -> Any:
        return self.node.app.state.verifier


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    data_dir = tmp_path_factory.mktemp("verifier")
    with RunningNode(data_dir) as node:
        yield World(node, data_dir)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _answer(world: World, http: httpx.AsyncClient, received: Received, *, query: str = "right-to-work",
                  tamper: Any = None) -> tuple[dict[str, Any], httpx.Response, str]:
    check = await world.check(http, query)
    # The wallet lives on the verifier's (possibly shifted) clock: a request issued "two days
    # on" would otherwise be refused as not yet valid (iat in the future).
    request = await wallet.fetch_request(http, check["link"], now=world.verifier_ctx().now())
    vp = wallet.vp_token(request, {"registration": (received.credential, received.holder_key)}, int(time.time()))
    if tamper is not None:
        vp = tamper(request, vp)
    response = await wallet.answer(http, request, vp)
    return check, response, vp


def test_right_to_work_end_to_end_and_replay_refused(world: World) -> None:
    async def story() -> None:
        async with httpx.AsyncClient(timeout=10) as http:
            received = await world.issue(http, world.city["api_key"])
            check, response, vp = await _answer(world, http, received)
            assert response.status_code == 200, response.text
            assert check["link"].startswith("openid4vp://?client_id=x509_hash:")
            assert qr.version(check["link"], 10) <= 10
            result = (await world.result(http, check)).json()
            assert result["accepted"] is True, result
            [credential] = result["credentials"]
            assert credential["claims"] == {"right_to_work": True, "valid_until": STATUS_EXAMPLE["valid_until"]}
            _check_proof(world, result["proof_of_check"], vp)
            assert credential["status"] == "valid" and credential["issuer"] == world.city["issuer"]
            assert (await world.result(http, check)).status_code == 404  # shown once, then gone
            replay = await http.post(f"{world.base}/verifier/responses/{check['id']}",
                                     data={"vp_token": vp, "state": "whatever"})
            assert replay.status_code == 400 and replay.json()["error"] == "invalid_request"

    run(story())


def test_did_jwk_client_identifier(world: World) -> None:
    async def story() -> None:
        async with httpx.AsyncClient(timeout=10) as http:
            received = await world.issue(http, world.city["api_key"])
            check = await world.check(http, client_id_prefix="decentralized_identifier")
            assert "client_id=decentralized_identifier:did:jwk:" in check["link"]
            assert qr.version(check["link"], 10) <= 10
            request = await wallet.fetch_request(http, check["link"])
            vp = wallet.vp_token(request, {"registration": (received.credential, received.holder_key)},
                                 int(time.time()))
            assert (await wallet.answer(http, request, vp)).status_code == 200
            assert (await world.result(http, check)).json()["accepted"] is True

    run(story())


def _refusal(world: World, tamper: Any = None, api_key: str | None = None, claims: dict[str, Any] | None = None,
             before: Any = None) -> dict[str, Any]:
    async def story() -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=10) as http:
            received = await world.issue(http, api_key or world.city["api_key"], claims)
            if before is not None:
                await before(http, received)
            check, response, _vp = await _answer(world, http, received, tamper=tamper)
            assert response.status_code == 200, response.text  # the wallet's post is taken; the verdict is for staff
            result: dict[str, Any] = (await world.result(http, check)).json()
            return result

    return run(story())


def _with(world: World, *, nonce: str | None = None, aud: str | None = None, drop_kb: bool = False,
          paths: list[Any] | None = None) -> dict[str, Any]:
    async def story() -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=10) as http:
            received = await world.issue(http, world.city["api_key"])
            check = await world.check(http)
            request = await wallet.fetch_request(http, check["link"])
            shown = present(received.credential, paths or [("right_to_work",), ("valid_until",)],
                            holder_key=received.holder_key, audience=aud or request.client_id,
                            nonce=nonce or request.nonce, now=int(time.time()))
            if drop_kb:
                shown = shown[: shown.rindex("~") + 1]
            response = await wallet.answer(http, request, json.dumps({"registration": [shown]}))
            assert response.status_code == 200
            result: dict[str, Any] = (await world.result(http, check)).json()
            return result

    return run(story())


def test_wrong_nonce_aud_missing_kb_and_missing_claims_refused(world: World) -> None:
    assert _with(world, nonce="another-nonce")["reason"] == "nonce_mismatch"
    assert _with(world, aud="x509_hash:someone-else")["reason"] == "aud_mismatch"
    assert _with(world, drop_kb=True)["reason"] == "key_binding_missing"
    result = _with(world, paths=[("right_to_work",)])
    assert result["accepted"] is False and result["reason"] == "response_does_not_match_query"


def test_expired_credential_refused(world: World) -> None:
    ctx = world.verifier_ctx()

    async def story() -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=10) as http:
            received = await world.issue(http, world.city["api_key"], valid_days=1)
            ctx.offset = 2 * 86400  # two days on: the credential has expired, the trust list has not
            check, response, _vp = await _answer(world, http, received)
            assert response.status_code == 200
            result: dict[str, Any] = (await world.result(http, check)).json()
            return result

    try:
        result = run(story())
    finally:
        ctx.offset = 0
    assert result["accepted"] is False and result["reason"] == "expired"


@pytest.mark.parametrize(("action", "reason"), [("revoke", "revoked"), ("suspend", "suspended")])
def test_revoked_and_suspended_credentials_refused(world: World, action: str, reason: str) -> None:
    async def change(http: httpx.AsyncClient, received: Received) -> None:
        staff = {"Authorization": f"Bearer {world.city['api_key']}"}
        listed = (await http.get(f"{world.base}/api/issuer/credentials", headers=staff)).json()
        mine = next(c for c in listed if c["holder_key_thumbprint"] == received.holder_key.public_key().thumbprint())
        assert (await http.post(f"{world.base}/api/issuer/credentials/{mine['id']}/{action}",
                                headers=staff)).status_code == 200
        world.verifier_ctx().fetcher.forget()  # a list cached within its ttl would still say "valid"

    result = _refusal(world, before=change)
    assert result["accepted"] is False and result["reason"] == reason
    assert result["credentials"][0]["status"] == reason


def test_issuer_not_accredited_for_that_type_or_at_all_refused(world: World) -> None:
    for api_key in (world.rogue["api_key"], world.unlisted["api_key"]):
        result = _refusal(world, api_key=api_key)
        assert result["accepted"] is False and result["reason"] == "issuer_not_accredited"


def _several(world: World, issuers: list[str], *, revoke_first: bool = False, optional: bool = False,
             foreign: dict[int, str] | None = None) -> dict[str, Any]:
    """One answer of several presentations to a query that allows them (``multiple``), one per
    credential issued by each of ``issuers`` (api keys), in that order; ``optional``: the query's one
    credential set is not required; ``foreign``: presentation index -> "nonce" or "aud", bound to
    another request's nonce or another verifier."""
    custom: dict[str, Any] = {"credentials": [{"id": "registration", "format": "dc+sd-jwt", "multiple": True,
                                               "meta": {"vct_values": [STATUS_VCT]},
                                               "claims": [{"path": ["right_to_work"]}]}]}
    if optional:
        custom["credential_sets"] = [{"options": [["registration"]], "required": False}]

    async def story() -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=10) as http:
            received = [await world.issue(http, api_key) for api_key in issuers]
            if revoke_first:
                staff = {"Authorization": f"Bearer {issuers[0]}"}
                listed = (await http.get(f"{world.base}/api/issuer/credentials", headers=staff)).json()
                thumbprint = received[0].holder_key.public_key().thumbprint()
                mine = next(c for c in listed if c["holder_key_thumbprint"] == thumbprint)
                assert (await http.post(f"{world.base}/api/issuer/credentials/{mine['id']}/revoke",
                                        headers=staff)).status_code == 200
                world.verifier_ctx().fetcher.forget()
            made = await http.post(f"{world.base}/api/verifier/checks", json={"dcql_query": custom, "purpose": HR},
                                   headers={"Authorization": f"Bearer {world.desk_key}"})
            check = made.json()
            request = await wallet.fetch_request(http, check["link"])
            wrong = foreign or {}
            shown = [present(r.credential, [("right_to_work",)], holder_key=r.holder_key,
                             audience="x509_hash:elsewhere" if wrong.get(n) == "aud" else request.client_id,
                             nonce="another-request" if wrong.get(n) == "nonce" else request.nonce,
                             now=int(time.time())) for n, r in enumerate(received)]
            assert (await wallet.answer(http, request, json.dumps({"registration": shown}))).status_code == 200
            result: dict[str, Any] = (await world.result(http, check)).json()
            return result

    return run(story())


def test_a_presentation_that_fails_is_discarded_and_the_check_stands_on_the_others(world: World) -> None:
    """OpenID4VP 1.0 section 8.6: "If any of the checks related to an individual Presentation fail,
    the effected Presentation MUST be discarded"; the VP Token is rejected only when what is left
    does not answer the query. Here a query allowing several presentations gets a good one and one
    from an issuer not accredited for the type; then a revoked one and a good one; then only bad ones,
    refused with the first one's reason, as a check of one credential always was."""
    city, rogue = world.city["api_key"], world.rogue["api_key"]
    kept = _several(world, [rogue, city])
    assert kept["accepted"] is True, kept
    assert [c["issuer"] for c in kept["credentials"]] == [world.city["issuer"]]
    assert kept["credentials"][0]["claims"] == {"right_to_work": True}
    revoked = _several(world, [city, city], revoke_first=True)
    assert revoked["accepted"] is True and [c["status"] for c in revoked["credentials"]] == ["valid"], revoked
    refused = _several(world, [rogue, world.unlisted["api_key"]])
    assert refused["accepted"] is False and refused["reason"] == "issuer_not_accredited"
    alone = _several(world, [city], revoke_first=True)
    assert alone["accepted"] is False and alone["reason"] == "revoked"
    assert [c["status"] for c in alone["credentials"]] == ["revoked"]  # the desk is shown why
    # Nothing left is never an answer, even to a query whose every credential set is optional.
    nothing = _several(world, [rogue], optional=True)
    assert nothing["accepted"] is False and nothing["reason"] == "issuer_not_accredited", nothing


def test_one_presentation_bound_to_another_request_or_verifier_rejects_the_whole_response(world: World) -> None:
    """Section 14.1.2: "If any Verifiable Presentation in the response does not contain the correct
    nonce value, the response MUST be rejected": a presentation injected from another session is no
    individual failure to discard (section 8.6), and one made for another verifier no more (helper-66:
    both were discarded and the check stood on the good one)."""
    city = world.city["api_key"]
    for wrong, reason in (("nonce", "nonce_mismatch"), ("aud", "aud_mismatch")):
        for foreign in ({1: wrong}, {0: wrong}):
            result = _several(world, [city, city], foreign=foreign)
            assert result["accepted"] is False and result["reason"] == reason, (foreign, result)
        optional = _several(world, [city, city], optional=True, foreign={1: wrong})
        assert optional["accepted"] is False and optional["reason"] == reason, optional


def test_request_beyond_registration_refused_at_creation(world: World) -> None:
    async def story() -> httpx.Response:
        async with httpx.AsyncClient(timeout=10) as http:
            return await http.post(f"{world.base}/api/verifier/checks", json={"query": "registered-resident"},
                                   headers={"Authorization": f"Bearer {world.desk_key}"})

    r = run(story())
    assert r.status_code == 400 and r.json()["code"] == "purpose_not_registered"


def test_the_verifier_keeps_no_claim_value(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    claims = dict(STATUS_EXAMPLE, registration_number="REG-ZX-99172", municipality="Wardakizadeh-stad")
    result = _refusal(world, claims=claims)
    assert result["accepted"] is True
    stored = stored_bytes(world.node.settings)  # SQLite's files by a child process, or PostgreSQL's rows
    assert b"right_to_work" in stored  # the store was read: the audit keeps claim names
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for value in (claims["valid_until"], "REG-ZX-99172", "Wardakizadeh-stad"):
        assert value.encode() not in stored, value
        assert value not in logged, value
    audit = run(_audit(world))
    assert audit and all(set(e) == {"at", "check", "vct", "issuer", "accepted", "reason", "disclosed_names", "desk"}
                         for e in audit)
    assert "right_to_work" in audit[0]["disclosed_names"]
    asked_by = audit[0]["desk"]  # the desk that asked, by its listed id and name: never its key
    assert asked_by == {"id": world.desk_id, "name": "desk"} and world.desk_key not in str(audit)


async def _audit(world: World) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(timeout=10) as http:
        r = await http.get(f"{world.base}/api/verifier/audit", headers={"Authorization": f"Bearer {world.desk_key}"})
        body: list[dict[str, Any]] = r.json()
        return body


def test_a_checks_qr_code_is_drawn_when_the_desk_asks_for_it(world: World) -> None:
    """Creating a check only makes sure its link fits a version 11 code; the code itself is drawn
    at ``qr_svg`` / ``qr_png``, for a desk key, while the check is open, and it reads back as the link."""
    import io

    import zxingcpp
    from PIL import Image

    desk = {"Authorization": f"Bearer {world.desk_key}"}

    async def story() -> None:
        async with httpx.AsyncClient(timeout=10) as http:
            check = await world.check(http)
            assert "<" not in json.dumps(check)  # no drawing in the answer: only where to get one
            png = await http.get(check["qr_png"], headers=desk)
            assert png.status_code == 200 and png.headers["content-type"] == "image/png"
            assert png.headers["cache-control"] == "no-store"
            read = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)),
                                          formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode))
            assert [code.text for code in read] == [check["qr_link"]]
            svg = await http.get(check["qr_svg"], headers=desk)
            assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
            assert svg.text == qr.svg(check["qr_link"], max_version=11, standalone=True)  # the same code, sized
            assert (await http.get(check["qr_svg"])).status_code == 401  # the desk's, not anyone's
            answered, _, _ = await _answer(world, http, await world.issue(http, world.city["api_key"]))
            assert (await world.result(http, answered)).json()["accepted"] is True
            assert (await http.get(answered["qr_png"], headers=desk)).status_code == 404  # answered: it leads nowhere
            elsewhere = check["qr_svg"].replace(check["id"], "A" * len(check["id"]))
            assert (await http.get(elsewhere, headers=desk)).status_code == 404
            ctx = world.verifier_ctx()
            ctx.offset += 3600  # the check has expired: its code is gone with it
            try:
                assert (await http.get(check["qr_png"], headers=desk)).status_code == 404
            finally:
                ctx.offset -= 3600

    run(story())


def test_a_checks_qr_code_stays_within_version_11() -> None:
    """A link too long for version 11 at level M is drawn at level L, as the check's creation
    promised (``qr.fits``), as an SVG and as a PNG alike."""
    import io

    import zxingcpp
    from PIL import Image

    from verifier import checks

    link = "https://desk.example/verifier/ask?client_id=x&request_uri=" + "a" * 260  # 318 bytes
    assert qr.fits(link, 11) and qr.make(link).version > 11
    assert qr.make(link, 11).version == 11 and qr.make(link, 11).error == "L"
    shown = {"qr_link": link}
    assert checks.qr_svg(shown) == qr.svg(link, max_version=11)
    [read] = zxingcpp.read_barcodes(Image.open(io.BytesIO(checks.qr_png(shown))))
    assert read.text == link and read.symbology_identifier == "]Q1" and "L" in read.ec_level
    assert (read.position.top_right.x - read.position.top_left.x) / 8 < 17 + 4 * 12  # 8 px a module: version 11


def test_offline_desk_answers_from_its_kept_copy_until_the_copy_expires(world: World) -> None:
    from core.fetch import AddressPolicy, Fetcher

    ctx = world.verifier_ctx()
    online = ctx.fetcher

    async def story(accept_unknown: bool = False) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=10) as http:
            received = await world.issue(http, world.city["api_key"])
            check = await world.check(http, accept_unknown_status=accept_unknown)
            request = await wallet.fetch_request(http, check["link"], now=ctx.now())
            vp = wallet.vp_token(request, {"registration": (received.credential, received.holder_key)},
                                 int(time.time()) + ctx.offset)  # the phone's clock agrees with the desk's
            assert (await wallet.answer(http, request, vp)).status_code == 200
            result: dict[str, Any] = (await world.result(http, check)).json()
            return result

    assert run(story())["credentials"][0]["status"] == "valid"  # online: fetched, and a copy kept
    try:
        ctx.fetcher = Fetcher(AddressPolicy())  # the network is gone: nothing on loopback/http is reachable
        offline = run(story())
        assert offline["accepted"] and offline["credentials"][0]["status"] == "valid"  # from the signed copy
        ctx.offset = 2 * 86400  # the copy's exp (a day) has passed: no statement can be made any more
        stale = run(story())
        assert stale["accepted"] is False and stale["reason"] == "status_unknown"
        assert stale["credentials"][0]["status"] == "unknown"  # never a false "revoked"
        lenient = run(story(accept_unknown=True))  # a check whose policy accepts unknown
        assert lenient["accepted"] and lenient["credentials"][0]["status"] == "unknown"
    finally:
        ctx.fetcher, ctx.offset = online, 0


def test_sync_refreshes_the_trust_list_and_kept_status_lists(world: World) -> None:
    async def a_checked_credential() -> None:  # keeps its status list (on its own, in any test order)
        async with httpx.AsyncClient(timeout=10) as http:
            check, response, _ = await _answer(world, http, await world.issue(http, world.city["api_key"]))
            assert response.status_code == 200, response.text
            assert (await world.result(http, check)).json()["credentials"][0]["status"] == "valid"

    run(a_checked_credential())
    env = {**os.environ, "AMANA_DATA_DIR": str(world.data_dir), "AMANA_PUBLIC_BASE_URL": world.base}
    done = subprocess.run([sys.executable, "-m", "server.cli", "verifier", "sync", "--trust-list-url",
                           f"{world.base}/trust-list"], capture_output=True, text=True, cwd=REPO_ROOT, env=env,
                          check=False)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["trust_list"]["seq"] == 1 and report["trust_list"]["expired"] is False
    lists = report["status_lists"]
    assert lists["known"] >= 1 and lists["refreshed"] == lists["known"]
    refused = subprocess.run([sys.executable, "-m", "server.cli", "verifier", "sync", "--trust-list-url",
                              f"{world.base}/trust-list"], capture_output=True, text=True, cwd=REPO_ROOT,
                             env={**env, "AMANA_PUBLIC_BASE_URL": "https://node.amana.test"}, check=False)
    assert refused.returncode == 1 and json.loads(refused.stderr)["code"] == "fetch_refused"  # not local: no loopback


def test_a_posted_dcql_query_is_checked_against_the_registration(world: World) -> None:
    custom = {"credentials": [{"id": "registration", "format": "dc+sd-jwt", "meta": {"vct_values": [STATUS_VCT]},
                               "claims": [{"path": ["right_to_work"]}]}]}

    async def story() -> tuple[httpx.Response, httpx.Response, dict[str, Any]]:
        async with httpx.AsyncClient(timeout=10) as http:
            desk = {"Authorization": f"Bearer {world.desk_key}"}
            ok = await http.post(f"{world.base}/api/verifier/checks", headers=desk,
                                 json={"dcql_query": custom, "purpose": HR})
            greedy = dict(custom, credentials=[dict(custom["credentials"][0],
                                                    claims=[{"path": ["registration_number"]}])])
            refused = await http.post(f"{world.base}/api/verifier/checks", headers=desk,
                                      json={"dcql_query": greedy, "purpose": HR})
            received = await world.issue(http, world.city["api_key"])
            check = ok.json()
            request = await wallet.fetch_request(http, check["link"])
            vp = wallet.vp_token(request, {"registration": (received.credential, received.holder_key)},
                                 int(time.time()))
            await wallet.answer(http, request, vp)
            return ok, refused, (await world.result(http, check)).json()

    ok, refused, result = run(story())
    assert ok.status_code == 201
    assert refused.status_code == 400 and refused.json()["code"] == "request_exceeds_registration"
    assert "registration_number" in refused.json()["detail"]
    assert result["accepted"] and result["credentials"][0]["claims"] == {"right_to_work": True}


def test_issuer_key_rotation_is_followed_through_jwt_vc_issuer(world: World) -> None:
    """The trust list still names the old key; the new one comes from the issuer's metadata."""
    _cli(world.data_dir, world.base, "issuer", "rotate-key", "--org", "city")
    result = _refusal(world)
    assert result["accepted"] is True, result


def _check_proof(world: World, token: str, vp: str) -> None:
    """The proof verifies with the verifier's registered key, names the presentation by hash, holds no value."""
    import hashlib

    from core.encoding import b64url_encode
    from core.errors import UnknownIssuerKey
    from verifier import proofs

    desk = _cli(world.data_dir, world.base, "verifier", "init")  # prints the same request-signing keys again
    keys_ = [keys.PublicKey.from_jwk(k) for k in desk["jwks"]["keys"]]
    claims = proofs.verify(token, keys_)
    assert claims["iss"] == desk["verifier_id"] and claims["accepted"] is True
    assert claims["presentation_sha256"] == b64url_encode(hashlib.sha256(vp.encode()).digest())
    assert claims["credentials"][0]["status"] == "valid"
    for value in (STATUS_EXAMPLE["valid_until"], STATUS_EXAMPLE["registration_number"]):
        assert value not in json.dumps(claims)
    with pytest.raises(UnknownIssuerKey):  # not this verifier's key
        proofs.verify(token, [keys.generate().public_key()])


def test_the_whole_node_runs_on_postgresql(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issuer, verifier and the CLI on one PostgreSQL database (DATABASE_URL), as in production."""
    from tests.server_process import POSTGRES_URL, empty_postgres

    if not POSTGRES_URL:
        pytest.skip("no PostgreSQL (.ci/run starts one)")
    empty_postgres(POSTGRES_URL)
    monkeypatch.setenv("DATABASE_URL", POSTGRES_URL)  # the node and every CLI call below
    with RunningNode(tmp_path) as node:
        assert node.settings.database_url == POSTGRES_URL
        world = World(node, tmp_path)
        result = _refusal(world)
        assert result["accepted"] is True and result["credentials"][0]["status"] == "valid", result
        assert not list(tmp_path.glob("amana.db*"))  # nothing went to SQLite


@pytest.mark.parametrize("prefix", ["x509_hash", "decentralized_identifier"])
def test_the_wallet_checks_the_nodes_request_shows_consent_and_answers_the_plan(world: World, prefix: str) -> None:
    """Interop over HTTP: the node's own verifier (both prefixes) passes the wallet's checks, the
    consent screen names it and its registered purpose from the node's trust list, and the
    holder's plan is what the desk accepts; the same request seen again is a replay."""
    from wallet.consent import Choice, HeldCard, HeldCopy, choices_valid, consent_screen
    from wallet.request_errors import RequestReplayed

    trust = world.verifier_ctx().trust_list()

    async def story() -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=10) as http:
            received = await world.issue(http, world.city["api_key"])
            check = await world.check(http, client_id_prefix=prefix)
            request = await wallet.fetch_request(http, check["link"], trust_list=trust)
            with pytest.raises(RequestReplayed):  # the wallet has seen (and stored) this nonce already
                await wallet.fetch_request(http, check["link"], trust_list=trust, seen_nonces={request.nonce})
            card = HeldCard("rtw", STATUS_VCT, (HeldCopy("copy-1"),), STATUS_EXAMPLE)
            screen = consent_screen(request, trust, [card], TYPES, "en")
            assert screen.who.status == "registered" and screen.who.name == "Employer"
            assert [p.purpose.iri for p in screen.purposes] == [HR] and screen.beyond_registration == ()
            plan = choices_valid(screen, Choice({"registration": "rtw"}))
            vp = wallet.vp_token(request, {"registration": (received.credential, received.holder_key)},
                                 int(time.time()), paths=plan.paths())
            assert (await wallet.answer(http, request, vp)).status_code == 200
            result: dict[str, Any] = (await world.result(http, check)).json()
            return result

    assert run(story())["accepted"] is True


def test_an_expired_check_goes_with_a_later_check(world: World) -> None:
    """Expired checks (their sealed results with them) are deleted when a check is made, at most
    every 10 s (``VerifierContext.forget_due``): the first check made after the expiry forgets it."""

    async def kept(check_id: str) -> bool:
        engine = db.make_engine(db.database_url(world.node.settings))
        try:
            async with engine.connect() as connection:
                found = await connection.execute(text("SELECT count(*) FROM verifier_checks WHERE id = :id"),
                                                 {"id": check_id})
                return bool(found.scalar_one() == 1)
        finally:
            await engine.dispose()

    async def go() -> None:
        ctx = world.verifier_ctx()
        async with httpx.AsyncClient() as http:
            old = await world.check(http)
            assert await kept(old["id"])
            ctx.offset = 601  # past the check's 600 s
            try:
                await world.check(http)
                assert not await kept(old["id"])
            finally:
                ctx.offset = 0

    run(go())


def test_housekeeping_is_due_at_most_once_a_period_and_at_once_after_a_clock_set_back() -> None:
    due = Every(10)
    assert [due(t) for t in (100, 101, 109, 110, 111, 50, 55)] == [True, False, False, True, False, True, False]


def test_sync_from_a_node_with_no_trust_list_yet_says_what_its_operator_does(tmp_path: Path) -> None:
    """Before any ``amana trust sign`` a node's /trust-list answers 503: "the server answered 503" told
    the desk nothing it could act on (helper-79)."""
    with RunningNode(tmp_path / "node") as node:
        env = {**os.environ, "AMANA_DATA_DIR": str(tmp_path / "desk"), "AMANA_PUBLIC_BASE_URL": node.base}
        done = subprocess.run([sys.executable, "-m", "server.cli", "verifier", "sync", "--trust-list-url",
                               f"{node.base}/trust-list"], capture_output=True, text=True, cwd=REPO_ROOT, env=env,
                              check=False)
    problem = json.loads(done.stderr)
    assert done.returncode == 1 and problem["code"] == "fetch_failed" and "amana trust sign" in problem["detail"]
