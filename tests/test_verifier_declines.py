"""Issue 11: whoever reads the public request object knows its ``state`` and can send
``error=access_denied`` first. A decline is a hint: the check stays open for a presentation
(which proves itself by its Key Binding JWT) and ends as declined only when it expires, or when
the desk takes it. An answer in which no presentation is bound to the request is a hint too."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from core import _jose
from tests.node import RunningNode
from tests.verifier_desk import HR, Desk
from wallet import present as wallet


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    data_dir = tmp_path_factory.mktemp("declines")
    with RunningNode(data_dir) as node:
        yield Desk(node, data_dir)


async def _forge_decline(http: httpx.AsyncClient, check: dict[str, Any]) -> httpx.Response:
    """A bystander: reads the QR's request_uri, takes state and response_uri, declines."""
    request_uri = check["link"].split("request_uri=", 1)[1]
    request = _jose.parse_compact((await http.get(request_uri)).text, "request").unverified_payload()
    return await http.post(request["response_uri"], data={"error": "access_denied", "state": request["state"]})


def test_a_forged_decline_does_not_end_a_check_a_real_wallet_then_answers(desk: Desk) -> None:
    async def story() -> tuple[httpx.Response, httpx.Response, httpx.Response, dict[str, Any]]:
        async with httpx.AsyncClient(timeout=20) as http:
            check = await desk.check(http)
            forged = await _forge_decline(http, check)
            waiting = await desk.result(http, check)
            answered = await desk.present(http, check, desk.credential(None))
            return forged, waiting, answered, await desk.outcome(http, check)

    forged, waiting, answered, result = asyncio.run(story())
    assert forged.status_code == 200  # taken (section 8.2), but as a hint only
    assert waiting.status_code == 202 and waiting.json() == {"phase": "pending", "declined": True}
    assert answered.status_code == 200, answered.text
    assert result["accepted"] is True and result["reason"] is None, result


def test_a_decline_becomes_the_result_when_the_check_expires_unanswered(desk: Desk) -> None:
    async def story() -> tuple[httpx.Response, dict[str, Any], httpx.Response, list[dict[str, Any]]]:
        async with httpx.AsyncClient(timeout=20) as http:
            check = await desk.check(http)
            await _forge_decline(http, check)
            await _forge_decline(http, check)  # a second decline changes nothing
            request = await wallet.fetch_request(http, check["link"])  # a holder who is too slow
            desk.ctx.offset = 601  # the request's lifetime (REQUEST_TTL_S) has passed
            vp = wallet.vp_token(request, {"registration": desk.credential(None)}, int(time.time()) + 601)
            late = await wallet.answer(http, request, vp)
            result = await desk.outcome(http, check)
            again = await desk.result(http, check)
            audit = (await http.get(f"{desk.base}/api/verifier/audit", headers=desk.auth)).json()
            return late, result, again, audit

    try:
        late, result, again, audit = asyncio.run(story())
    finally:
        desk.ctx.offset = 0
    assert late.status_code == 400 and late.json()["error"] == "invalid_request"  # expired
    assert result["accepted"] is False and result["reason"] == "declined"
    assert again.status_code == 404  # shown once
    assert audit[0]["reason"] == "declined" and audit[0]["accepted"] is False


def test_an_open_check_is_polled_while_another_writer_holds_the_database(desk: Desk) -> None:
    """A poll of an open check writes nothing, so on SQLite it takes no transaction
    (verifier.results.take_result, ``declined``; on PostgreSQL it is one ``UPDATE`` that finds no row
    to change and waits for no other writer, ``store.check_taking_answer``): on SQLite one would
    wait for the database's write lock, and every desk polling its checks would queue behind, and
    hold back, the node's writers. Here another connection holds that lock throughout, and the
    desk's poll still answers "pending" (a transaction would have waited out the busy timeout and
    failed)."""
    if desk.node.settings.database_url:
        pytest.skip("the embedded SQLite's write lock")

    async def story() -> tuple[httpx.Response, httpx.Response]:
        async with httpx.AsyncClient(timeout=60) as http:
            check = await desk.check(http)
            holder = sqlite3.connect(desk.data_dir / "amana.db", isolation_level=None)
            try:
                holder.execute("BEGIN IMMEDIATE")
                waiting = await desk.result(http, check)
            finally:
                holder.close()  # rolls the empty transaction back
            return waiting, await desk.result(http, check)

    waiting, after = asyncio.run(story())
    assert waiting.status_code == 202 and waiting.json() == {"phase": "pending", "declined": False}, waiting.text
    assert after.status_code == 202


def _made_up(desk: Desk) -> tuple[str, Any]:
    """A credential of the right type, signed by a key of the poster's own (an issuer on no list)."""
    from core import keys
    from core.sdjwt.vc import issue_vc
    from tests.verifier_desk import STATUS_EXAMPLE, STATUS_VCT, TYPES

    holder, issuer = keys.generate(), keys.generate()
    token = issue_vc(TYPES.require(STATUS_VCT), STATUS_EXAMPLE, issuer="https://made-up.example", issuer_key=issuer,
                     holder_key=holder.public_key(), now=desk.ctx.now() - 60, valid_for_s=86400)
    return token, holder


async def _post_junk(http: httpx.AsyncClient, desk: Desk, check: dict[str, Any], kind: str) -> httpx.Response:
    """Someone who saw the QR answers first: junk, a credential they made up (bound to this very
    request by its Key Binding JWT), or a real credential bound to another request."""
    request = await wallet.fetch_request(http, check["link"], now=desk.ctx.now())
    if kind == "junk":
        return await wallet.answer(http, request, '{"registration": ["x.y.z~"]}')
    credential = _made_up(desk) if kind == "made-up" else desk.credential(None)
    bound_to = request if kind == "made-up" else dataclasses.replace(request, nonce="another-request")
    vp = wallet.vp_token(bound_to, {"registration": credential}, desk.ctx.now())
    return await wallet.answer(http, request, vp)


@pytest.mark.parametrize("kind", ["junk", "made-up", "another-request"])
def test_an_answer_in_which_nothing_holds_does_not_end_a_check_the_holder_then_answers(desk: Desk, kind: str) -> None:
    """Anyone who sees the QR can read the request's state and response_uri: junk posted first
    ended the check, and the holder's own answer then found it closed (helper-66)."""
    async def story() -> tuple[httpx.Response, httpx.Response, httpx.Response, dict[str, Any]]:
        async with httpx.AsyncClient(timeout=20) as http:
            check = await desk.check(http)
            posted = await _post_junk(http, desk, check, kind)
            waiting = await desk.result(http, check)
            answered = await desk.present(http, check, desk.credential(None))
            return posted, waiting, answered, await desk.outcome(http, check)

    posted, waiting, answered, result = asyncio.run(story())
    assert posted.status_code == 200, posted.text  # taken, as a hint only
    assert waiting.status_code == 202 and waiting.json() == {"phase": "pending", "declined": True}
    assert answered.status_code == 200, answered.text
    assert result["accepted"] is True and result["reason"] is None, result


def test_the_desk_may_take_a_hint_as_the_result_and_the_check_ends(desk: Desk) -> None:
    """A holder whose card is from an issuer on no list sees the desk wait; the clerk takes what
    came now (``close``): its reason is shown and audited, and the check takes no answer after."""
    async def story() -> tuple[httpx.Response, httpx.Response, httpx.Response, list[dict[str, Any]]]:
        async with httpx.AsyncClient(timeout=20) as http:
            check = await desk.check(http)
            await _post_junk(http, desk, check, "made-up")
            holders = await wallet.fetch_request(http, check["link"], now=desk.ctx.now())
            taken = await http.post(f"{desk.base}/api/verifier/checks/{check['id']}/result",
                                    json={"result_key": check["result_key"], "close": True}, headers=desk.auth)
            vp = wallet.vp_token(holders, {"registration": desk.credential(None)}, desk.ctx.now())
            late = await wallet.answer(http, holders, vp)
            audit = (await http.get(f"{desk.base}/api/verifier/audit", headers=desk.auth)).json()
            return taken, late, await desk.result(http, check), audit

    taken, late, again, audit = asyncio.run(story())
    assert taken.status_code == 200 and taken.json()["accepted"] is False, taken.text
    assert taken.json()["reason"] == "issuer_not_accredited"
    assert late.status_code == 400 and late.json()["error"] == "invalid_request"
    assert again.status_code == 404
    assert audit[0]["reason"] == "issuer_not_accredited" and audit[0]["accepted"] is False
    assert audit[0]["desk"] is not None  # a hint taken as the result keeps the desk that asked


@pytest.mark.parametrize(("kind", "reason"), [("expired", "expired"), ("clock-off", "kb_iat_out_of_window")])
def test_a_holders_own_answer_that_fails_ends_the_check_with_its_reason(desk: Desk, kind: str, reason: str) -> None:
    """An answer bound to this request by the holder's key binding is no junk, though it fails a
    later rule (a credential expired, a phone's clock an hour behind): the check ends with its
    refusal at once. helper-68 found both kept as hints, the desk waiting for nothing."""
    from core import keys
    from core.sdjwt.vc import issue_vc
    from tests.verifier_desk import CRAFTED_ISSUER, STATUS_EXAMPLE, STATUS_VCT, TYPES

    async def story() -> tuple[httpx.Response, dict[str, Any]]:
        async with httpx.AsyncClient(timeout=20) as http:
            check = await desk.check(http)
            now = desk.ctx.now()
            request = await wallet.fetch_request(http, check["link"], now=now)
            if kind == "expired":
                holder = keys.generate()
                credential = (issue_vc(TYPES.require(STATUS_VCT), STATUS_EXAMPLE, issuer=CRAFTED_ISSUER,
                                       issuer_key=desk.issuer_key, holder_key=holder.public_key(),
                                       now=now - 40 * 86400, valid_for_s=30 * 86400), holder)
            vp = wallet.vp_token(request, {"registration": credential if kind == "expired" else desk.credential(None)},
                                 now if kind == "expired" else now - 3600)
            return await wallet.answer(http, request, vp), await desk.outcome(http, check)

    answered, result = asyncio.run(story())
    assert answered.status_code == 200, answered.text
    assert result["accepted"] is False and result["reason"] == reason, result


def test_without_holder_binding_only_an_accepted_answer_ends_the_check(desk: Desk) -> None:
    """A query that asks for no key binding can be answered with a copy of anyone's credential, by
    anyone who saw the QR: a refusal (here: not the value asked for) is then a hint, and only an
    answer the check accepts ends it (helper-68)."""
    import json

    from tests.verifier_desk import STATUS_VCT

    query = {"credentials": [{"id": "registration", "format": "dc+sd-jwt", "meta": {"vct_values": [STATUS_VCT]},
                              "require_cryptographic_holder_binding": False,
                              "claims": [{"path": ["right_to_work"], "values": [False]}]}]}

    async def story() -> tuple[httpx.Response, httpx.Response]:
        async with httpx.AsyncClient(timeout=20) as http:
            check = await desk.check(http, query=None, dcql_query=query, purpose=HR)
            request = await wallet.fetch_request(http, check["link"], now=desk.ctx.now())
            copy = desk.credential(None)[0]  # as issued: every Disclosure, no key binding
            posted = await wallet.answer(http, request, json.dumps({"registration": [copy]}))
            for _ in range(100):
                waiting = await desk.result(http, check)
                if waiting.status_code != 202 or waiting.json()["declined"]:
                    return posted, waiting
                await asyncio.sleep(0.1)
            return posted, waiting

    posted, waiting = asyncio.run(story())
    assert posted.status_code == 200, posted.text
    assert waiting.status_code == 202 and waiting.json() == {"phase": "pending", "declined": True}, waiting.text


def test_a_holders_own_answer_to_a_query_without_binding_that_fails_ends_the_check(desk: Desk) -> None:
    """Our wallet binds its answer to the request even when the query asks for no binding: that
    answer, though it fails (expired), is the holder's and ends the check (helper-69: a hint)."""
    from core import keys
    from core.sdjwt.vc import issue_vc
    from tests.verifier_desk import CRAFTED_ISSUER, STATUS_EXAMPLE, STATUS_VCT, TYPES

    query = {"credentials": [{"id": "registration", "format": "dc+sd-jwt", "meta": {"vct_values": [STATUS_VCT]},
                              "require_cryptographic_holder_binding": False, "claims": [{"path": ["right_to_work"]}]}]}

    async def story() -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=20) as http:
            check = await desk.check(http, query=None, dcql_query=query, purpose=HR)
            now = desk.ctx.now()
            request = await wallet.fetch_request(http, check["link"], now=now)
            holder = keys.generate()
            expired = issue_vc(TYPES.require(STATUS_VCT), STATUS_EXAMPLE, issuer=CRAFTED_ISSUER,
                               issuer_key=desk.issuer_key, holder_key=holder.public_key(), now=now - 40 * 86400,
                               valid_for_s=30 * 86400)
            answered = await wallet.answer(http, request, wallet.vp_token(request, {"registration": (expired, holder)},
                                                                           now))
            assert answered.status_code == 200, answered.text
            return await desk.outcome(http, check)

    result = asyncio.run(story())
    assert result["accepted"] is False and result["reason"] == "expired", result


def test_a_check_that_ends_pending_leaves_an_audit_line_by_what_came(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A clerk who asked and got no answer (or only a decline nobody took) can show the audit that
    they asked: when the expired check is forgotten (the first check made at least 10 s later), it
    leaves a line, refused, "unanswered" or "hint_only", naming the desk, with no names and no
    issuer. On PostgreSQL the delete and the audit are one statement (verifier.store.add_check)."""
    data_dir = tmp_path_factory.mktemp("ended-pending")
    with RunningNode(data_dir) as node:
        own = Desk(node, data_dir)

        async def story() -> list[dict[str, Any]]:
            async with httpx.AsyncClient(timeout=20) as http:
                silent = await own.check(http)
                hinted = await own.check(http)
                await _forge_decline(http, hinted)
                answered = await own.verdict(http, own.credential(None))
                assert answered["accepted"] is True
                own.ctx.offset = 601
                await own.check(http)  # forgets the expired ones, and audits those that ended pending
                assert (await own.result(http, silent)).status_code == 404  # gone, as before
                own.ctx.offset = 1202
                await own.check(http)  # the same lines are not written twice
                audit: list[dict[str, Any]] = (await http.get(f"{own.base}/api/verifier/audit",
                                                              headers=own.auth)).json()
                return audit

        try:
            audit = asyncio.run(story())
        finally:
            own.ctx.offset = 0
    ended = [line for line in audit if line["reason"] in ("unanswered", "hint_only")]
    assert sorted(line["reason"] for line in ended) == ["hint_only", "unanswered", "unanswered"], audit
    for line in ended:
        assert line["accepted"] is False and line["disclosed_names"] == [] and line["vct"] is None
        assert line["issuer"] is None and line["check"] == "right-to-work" and line["desk"]["id"]
    assert [line["accepted"] for line in audit if line["reason"] is None] == [True]  # the answered one, once
