"""skill-check asks for one ESCO skill (issue 17 item 6): the desk's parameter becomes a DCQL claims
``values`` filter on ``skill.uri``; a holder with that skill is accepted, one with another skill is
not; a made-up skill URI is refused before anything is asked; the check page names the skill."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from core import esco
from core.errors import InvalidInput, UnknownEscoSkill
from core.settings import REPO_ROOT
from tests.desk_world import DeskWorld, answer_from_phone, in_thread
from tests.node import RunningNode
from verifier import desk_skills
from verifier.queries import asked, load, narrowed

pytestmark = pytest.mark.skipif(not esco.INDEX.exists(), reason="the ESCO index is not built: make setup")
FORKLIFT = "http://data.europa.eu/esco/skill/28cb374e-6261-4133-8371-f9a5470145da"
INSPECTIONS = "http://data.europa.eu/esco/skill/3c84f7d9-7a3e-4343-814f-31de0aa61651"  # conduct forklift inspections
MADE_UP = "http://data.europa.eu/esco/skill/0e4a3c5a-6b6f-4a8a-9e1b-3f5c2d7a8b90"
QUERIES = load(REPO_ROOT / "specs")


def test_the_skill_becomes_a_values_filter_in_every_claim_set() -> None:
    skill_check = QUERIES["skill-check"]
    before = repr(skill_check.raw)
    query, raw = narrowed(skill_check, {"skill": FORKLIFT})
    [credential] = raw["credentials"]
    assert {"id": "skill_asked", "path": ["skill", "uri"], "values": [FORKLIFT]} in credential["claims"]
    assert all("skill_asked" in claim_set for claim_set in credential["claim_sets"])
    assert query.credentials[0].claims and any(c.values == (FORKLIFT,) for c in query.credentials[0].claims)
    assert asked(skill_check, raw) == {"skill": FORKLIFT} and asked(skill_check, skill_check.raw) == {}
    assert repr(skill_check.raw) == before  # the named query itself is unchanged
    assert desk_skills.asked_labels(skill_check, raw) == ["operate forklift"]


def test_a_made_up_skill_or_a_parameter_the_question_lacks_is_refused() -> None:
    with pytest.raises(UnknownEscoSkill):
        narrowed(QUERIES["skill-check"], {"skill": MADE_UP})
    with pytest.raises(InvalidInput):
        narrowed(QUERIES["right-to-work"], {"skill": FORKLIFT})


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeskWorld]:
    data_dir = tmp_path_factory.mktemp("skill-check")
    with RunningNode(data_dir) as node:
        yield DeskWorld(node, data_dir)


def _api(world: DeskWorld, path: str, body: dict[str, Any]) -> httpx.Response:
    async def call() -> httpx.Response:
        async with httpx.AsyncClient(timeout=10) as http:
            return await http.post(f"{world.base}{path}", json=body,
                                   headers={"Authorization": f"Bearer {world.desk_key}"})

    return in_thread(call)


def _outcome(world: DeskWorld, check: dict[str, Any]) -> dict[str, Any]:
    """The desk's result once the check is no longer pending: the wallet is answered after at
    most ``verifier_answer_wait_s`` and a slower check ends in the background (bounded: 300 asks)."""
    for _ in range(300):
        r = _api(world, f"/api/verifier/checks/{check['id']}/result", {"result_key": check["result_key"]})
        if r.status_code != 202:
            assert r.status_code == 200, r.text
            result: dict[str, Any] = r.json()
            return result
        time.sleep(0.1)
    raise AssertionError("the check stayed pending")


@pytest.mark.parametrize(("skill", "accepted"), [(FORKLIFT, True), (INSPECTIONS, False)])
def test_only_a_holder_with_the_skill_asked_for_is_accepted(world: DeskWorld, skill: str, accepted: bool) -> None:
    received = world.issue("SkillCertificate")  # operate forklift
    check = _api(world, "/api/verifier/checks", {"query": "skill-check", "parameters": {"skill": skill}})
    assert check.status_code == 201, check.text
    answer_from_phone(check.json()["link"], "skill", received)
    result = _outcome(world, check.json())
    assert result["accepted"] is accepted, result
    if accepted:
        assert result["credentials"][0]["claims"]["skill"] == {"uri": FORKLIFT, "label": "operate forklift"}
    else:  # another skill: the values filter is not met, whatever else is right
        assert result["reason"] == "response_does_not_match_query" and result["credentials"] == []


def test_a_made_up_skill_is_refused_before_anything_is_asked(world: DeskWorld) -> None:
    r = _api(world, "/api/verifier/checks", {"query": "skill-check", "parameters": {"skill": MADE_UP}})
    assert r.status_code == 400 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "unknown_esco_skill" and MADE_UP not in r.text
    r = _api(world, "/api/verifier/checks", {"query": "right-to-work", "parameters": {"skill": FORKLIFT}})
    assert r.status_code == 400
