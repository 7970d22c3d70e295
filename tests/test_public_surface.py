"""The public surface of the credential core, and the error hierarchy's promises.

Callers use ``core.sdjwt``'s recipes and branch on error types or codes; a name that
slips out of ``__all__`` or a code that two errors share would break them silently.
"""

from __future__ import annotations

import core.sdjwt
from core import errors

SDJWT_SURFACE = {
    "DEFAULT_POLICY", "ClaimPath", "KeyBindingPolicy", "Verified", "VerifyPolicy",
    "format_path", "issue", "parse_many", "parse_path", "present", "verify", "verify_issued",
    "binds", "key_binding_of",  # a verifier tells a holder's failed answer from junk (verifier.verification)
}


def test_sdjwt_exports_exactly_its_recipes() -> None:
    assert set(core.sdjwt.__all__) == SDJWT_SURFACE
    for name in core.sdjwt.__all__:
        assert getattr(core.sdjwt, name) is not None
    # The raw layers (JOSE, digests, serialization, the unpacking walk) stay private.
    assert not any(name.startswith("_") for name in core.sdjwt.__all__)


def _all_errors() -> list[type[errors.AmanaError]]:
    found, todo = [], [errors.AmanaError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def test_every_error_has_its_own_stable_code() -> None:
    classes = _all_errors()
    codes = [cls.code for cls in classes]
    assert len(classes) > 40
    assert len(codes) == len(set(codes)), sorted(c for c in codes if codes.count(c) > 1)
    for code in codes:
        assert code.isascii() and code == code.lower() and " " not in code


def test_problem_json_carries_the_code_and_no_more() -> None:
    problem = errors.NonceMismatch().problem()
    assert set(problem) == {"type", "title", "status", "detail", "code"}
    assert problem["code"] == "nonce_mismatch" and problem["type"].endswith("nonce_mismatch")
    assert problem["status"] == 400
