"""Issue 10 item 4: ``amana credential verify`` checks an SD-JWT VC of any ``vct``. Type
metadata is optional in SD-JWT VC: a foreign type gets signature, structure and key binding
checked and the output says no type rules were applied; a known type whose claims break its
schema is still refused, and the node's verifier still refuses types it does not know."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from core import keys
from core.credtypes import load_registry
from core.errors import UnknownCredentialType
from core.sdjwt import present
from core.sdjwt.issuer import issue
from core.sdjwt.vc import issue_vc, verify_vc
from core.settings import REPO_ROOT, Settings

# The shape of SD-JWT VC's own example ("Example Unsecured Payload with vct"), keys our own.
FOREIGN = {
    "vct": "https://credentials.example.com/identity_credential",
    "given_name": "Russ",
    "family_name": "Lasky",
    "birthdate": "1983-07-29",
    "address": {"street_address": "285 W Huntington Dr.", "locality": "Arcadia", "region": "CA",
                "postal_code": "91007"},
    "email": "sorryfolks@parksclosed.example",
}
DISCLOSABLE = [("given_name",), ("family_name",), ("birthdate",), ("address",), ("email",)]
AUD, NONCE = "https://verifier.example.org", "n-0S6_WzA2Mj"


def _cli_module() -> str:
    return "server.cli"


def amana(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", _cli_module(), *map(str, args)], capture_output=True, text=True,
                          cwd=REPO_ROOT, check=False)


def _credential(tmp: Path, payload: dict[str, Any], disclose: list[tuple[str, ...]],
                issuer: keys.PrivateKey | None = None) -> tuple[Path, Path]:
    """(presentation file, issuer JWK file) for ``payload`` signed as a dc+sd-jwt."""
    issuer_key, holder = keys.generate(), keys.generate()
    now = int(time.time())
    issued = issue({**payload, "iat": now, "exp": now + 86400}, issuer_key=issuer or issuer_key,
                   disclosable=DISCLOSABLE, holder_key=holder.public_key(), typ="dc+sd-jwt")
    shown = present(issued, disclose, holder_key=holder, audience=AUD, nonce=NONCE, now=now)
    presentation, jwk = tmp / "p.txt", tmp / "issuer.jwk"
    presentation.write_text(shown)
    jwk.write_text(json.dumps(issuer_key.public_key().to_jwk()))
    return presentation, jwk


def test_a_foreign_vct_is_verified_without_type_rules_and_says_so(tmp_path: Path) -> None:
    presentation, jwk = _credential(tmp_path, FOREIGN, [("given_name",), ("address",)])
    done = amana("credential", "verify", presentation, "--issuer-jwk", jwk, "--aud", AUD, "--nonce", NONCE)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["type_rules"] == "none: unknown vct"
    assert out["claims"]["vct"] == FOREIGN["vct"] and out["claims"]["given_name"] == "Russ"
    assert out["claims"]["address"]["locality"] == "Arcadia" and "email" not in out["claims"]


@pytest.mark.parametrize("what", ["signature", "binding"])
def test_a_foreign_vct_still_needs_its_signature_and_binding(tmp_path: Path, what: str) -> None:
    if what == "signature":
        presentation, jwk = _credential(tmp_path, FOREIGN, [("given_name",)], issuer=keys.generate())
        args = ["--aud", AUD, "--nonce", NONCE]
    else:
        presentation, jwk = _credential(tmp_path, FOREIGN, [("given_name",)])
        args = ["--aud", AUD, "--nonce", "another"]
    done = amana("credential", "verify", presentation, "--issuer-jwk", jwk, *args)
    assert done.returncode == 1
    assert json.loads(done.stderr)["code"] in {"invalid_signature", "unknown_issuer_key", "nonce_mismatch"}


def test_a_known_vct_whose_claims_break_its_schema_is_still_refused(tmp_path: Path) -> None:
    bad = {"vct": "urn:amana:credential:RegistrationStatus:1", "iss": "https://issuer.amana.test",
           "right_to_work": "maybe"}
    presentation, jwk = _credential(tmp_path, bad, [])
    done = amana("credential", "verify", presentation, "--issuer-jwk", jwk, "--aud", AUD, "--nonce", NONCE)
    assert done.returncode == 1 and json.loads(done.stderr)["code"] == "claims_invalid_for_type"
    assert "maybe" not in done.stderr


def test_a_known_vct_says_its_rules_were_applied(tmp_path: Path) -> None:
    issuer_key, holder = keys.generate(), keys.generate()
    ctype = load_registry(Settings().specs_dir).by_name("RegistrationStatus")
    example = json.loads((REPO_ROOT / "specs/credentials/RegistrationStatus/example.json").read_text())
    issued = issue_vc(ctype, example, issuer="https://issuer.amana.test", issuer_key=issuer_key,
                      holder_key=holder.public_key(), now=int(time.time()), valid_for_s=86400)
    presentation, jwk = tmp_path / "p.txt", tmp_path / "issuer.jwk"
    presentation.write_text(present(issued, [("right_to_work",)], holder_key=holder, audience=AUD, nonce=NONCE,
                                    now=int(time.time())))
    jwk.write_text(json.dumps(issuer_key.public_key().to_jwk()))
    done = amana("credential", "verify", presentation, "--issuer-jwk", jwk, "--aud", AUD, "--nonce", NONCE)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["type_rules"] == "applied: urn:amana:credential:RegistrationStatus:1"


def test_the_nodes_verifier_keeps_refusing_a_foreign_vct(tmp_path: Path) -> None:
    presentation, jwk = _credential(tmp_path, {**FOREIGN, "iss": "https://issuer.example.com"}, [("given_name",)])
    key = keys.PublicKey.from_jwk(json.loads(jwk.read_text()))
    with pytest.raises(UnknownCredentialType):
        verify_vc(presentation.read_text(), issuer_keys=lambda _h, _p: [key], now=int(time.time()), key_binding=None,
                  types=load_registry(Settings().specs_dir))
