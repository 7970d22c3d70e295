"""Property tests: random claim trees round-trip; any one-character change is refused."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import keys
from core.errors import AmanaError
from core.sdjwt import KeyBindingPolicy, issue, present, verify
from core.sdjwt.paths import ClaimPath
from tests.conftest import NOW

ISSUER = keys.generate("ES256")
HOLDER = keys.generate("ES256")
AUD, NONCE = "https://verifier.test", "n"
EXPECT = KeyBindingPolicy(AUD, NONCE)
RESERVED = {"_sd", "...", "_sd_alg", "cnf", "exp", "nbf", "iat"}  # time claims: see verify rules

names = st.text(min_size=0, max_size=8).filter(lambda s: s not in RESERVED)
scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=12) | st.floats(
    allow_nan=False, allow_infinity=False, width=32)
trees = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(names, inner, max_size=4),
                     max_leaves=14)
claim_sets = st.dictionaries(names, trees, min_size=1, max_size=5)


def all_paths(node: Any, path: ClaimPath = ()) -> list[ClaimPath]:
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in [(*path, k), *all_paths(v, (*path, k))]]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in [(*path, i), *all_paths(v, (*path, i))]]
    return []


def expected_view(node: Any, path: ClaimPath, sd: set[ClaimPath], chosen: list[ClaimPath]) -> Any:
    """What a verifier must see: a node is visible if every disclosable node on its way was shown."""
    def revealed(p: ClaimPath) -> bool:
        return any(c[: len(p)] == p or p[: len(c)] == c for c in chosen)

    if isinstance(node, dict):
        return {k: expected_view(v, (*path, k), sd, chosen) for k, v in node.items()
                if (*path, k) not in sd or revealed((*path, k))}
    if isinstance(node, list):
        return [expected_view(v, (*path, i), sd, chosen) for i, v in enumerate(node)
                if (*path, i) not in sd or revealed((*path, i))]
    return node


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), claims=claim_sets)
def test_issue_present_verify_round_trip(data: st.DataObject, claims: dict[str, Any]) -> None:
    paths = all_paths(claims)
    sd = set(data.draw(st.lists(st.sampled_from(paths), unique=True) if paths else st.just([])))
    chosen = data.draw(st.lists(st.sampled_from(paths), unique=True, max_size=4) if paths else st.just([]))
    token = issue(claims, issuer_key=ISSUER, disclosable=sorted(sd, key=repr), holder_key=HOLDER.public_key())
    shown = present(token, chosen, holder_key=HOLDER, audience=AUD, nonce=NONCE, now=NOW)
    result = verify(shown, issuer_keys=[ISSUER.public_key()], now=NOW, key_binding=EXPECT)
    got = {k: v for k, v in result.claims.items() if k != "cnf"}
    assert got == expected_view(claims, (), sd, chosen)


PRESENTATION = present(
    issue({"given_name": "Layla", "address": {"locality": "Demo City", "country": "DE"}, "n": ["SY", "LB"]},
          issuer_key=ISSUER, holder_key=HOLDER.public_key(),
          disclosable=[("given_name",), ("address",), ("address", "country"), ("n", None)]),
    [("address", "country"), ("n", 1)], holder_key=HOLDER, audience=AUD, nonce=NONCE, now=NOW,
)


@settings(max_examples=400, deadline=None)
@given(index=st.integers(0, len(PRESENTATION) - 1),
       char=st.sampled_from("AQgw0-_~.=+/ eyJé") | st.characters(codec="ascii") | st.characters())
def test_any_one_character_change_is_refused(index: int, char: str) -> None:
    if PRESENTATION[index] == char:
        return
    mutated = PRESENTATION[:index] + char + PRESENTATION[index + 1 :]
    try:
        verify(mutated, issuer_keys=[ISSUER.public_key()], now=NOW, key_binding=EXPECT)
    except AmanaError:
        return
    raise AssertionError(f"a change at {index} was accepted")


def test_unmodified_presentation_verifies() -> None:
    result = verify(PRESENTATION, issuer_keys=[ISSUER.public_key()], now=NOW, key_binding=EXPECT)
    assert result.claims["address"] == {"locality": "Demo City", "country": "DE"}
    assert result.claims["n"] == ["LB"]


def test_every_position_changed_once_is_refused() -> None:
    """Exhaustive companion to the property above: each position, one substitute each."""
    accepted = []
    for index, original in enumerate(PRESENTATION):
        for char in ("A" if original != "A" else "B", "~" if original != "~" else ".", "é"):
            mutated = PRESENTATION[:index] + char + PRESENTATION[index + 1 :]
            try:
                verify(mutated, issuer_keys=[ISSUER.public_key()], now=NOW, key_binding=EXPECT)
            except AmanaError:
                continue
            accepted.append(index)
    assert accepted == []
