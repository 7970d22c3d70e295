"""The `amana` CLI, run as a real subprocess: exit codes, stdout, problem+json on stderr."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.settings import REPO_ROOT
from tests.browser import decode_qr_codes
from tests.conftest import VECTORS

AMANA = [sys.executable, "-m", "server.cli"]


def amana(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*AMANA, *map(str, args)], capture_output=True, text=True, cwd=REPO_ROOT, check=False)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("cli")
    paths = {n: d / n for n in ("issuer.jwk", "issuer.pub.jwk", "holder.jwk", "holder.pub.jwk", "claims.json")}
    assert amana("keys", "generate", "--alg", "EdDSA", "--out", paths["issuer.jwk"],
                 "--public-out", paths["issuer.pub.jwk"]).returncode == 0
    holder = amana("keys", "generate", "--out", paths["holder.jwk"], "--public-out", paths["holder.pub.jwk"])
    assert holder.returncode == 0
    example = json.loads((REPO_ROOT / "specs/credentials/RegistrationStatus/example.json").read_text())
    paths["claims.json"].write_text(json.dumps(example))
    issued = amana("credential", "issue", "--type", "RegistrationStatus", "--claims", paths["claims.json"],
                   "--issuer-key", paths["issuer.jwk"], "--holder-jwk", paths["holder.pub.jwk"])
    assert issued.returncode == 0, issued.stderr
    paths["vc"] = d / "vc.txt"
    paths["vc"].write_text(issued.stdout)
    shown = amana("credential", "present", paths["vc"], "--disclose", "right_to_work,registered",
                  "--holder-key", paths["holder.jwk"], "--aud", "https://v.test", "--nonce", "abc")
    assert shown.returncode == 0, shown.stderr
    paths["presentation"] = d / "p.txt"
    paths["presentation"].write_text(shown.stdout)
    return paths


def test_keys_generate_prints_no_private_material(world: dict[str, Path]) -> None:
    out = amana("keys", "generate", "--out", world["holder.jwk"].parent / "x.jwk")
    d = json.loads((world["holder.jwk"].parent / "x.jwk").read_text())["d"]
    assert d not in out.stdout + out.stderr
    assert set(json.loads(out.stdout)) == {"kid", "alg"}


def test_verify_prints_claims(world: dict[str, Path]) -> None:
    result = amana("credential", "verify", world["presentation"], "--issuer-jwk", world["issuer.pub.jwk"],
                   "--aud", "https://v.test", "--nonce", "abc")
    assert result.returncode == 0, result.stderr
    claims = json.loads(result.stdout)["claims"]
    assert claims["right_to_work"] is True and claims["registered"] is True
    assert "registration_number" not in claims


def test_wrong_nonce_fails_with_problem_json(world: dict[str, Path]) -> None:
    result = amana("credential", "verify", world["presentation"], "--issuer-jwk", world["issuer.pub.jwk"],
                   "--aud", "https://v.test", "--nonce", "other")
    assert result.returncode == 1 and result.stdout == ""
    problem = json.loads(result.stderr)
    assert problem["code"] == "nonce_mismatch"
    assert {"type", "title", "detail", "code"} <= set(problem)
    assert "Traceback" not in result.stderr


def test_tampered_presentation_fails(world: dict[str, Path], tmp_path: Path) -> None:
    text = world["presentation"].read_text().strip()
    tampered = tmp_path / "t.txt"
    tampered.write_text(text[:40] + ("A" if text[40] != "A" else "B") + text[41:])
    result = amana("credential", "verify", tampered, "--issuer-jwk", world["issuer.pub.jwk"],
                   "--aud", "https://v.test", "--nonce", "abc")
    assert result.returncode == 1
    assert json.loads(result.stderr)["code"] in {"invalid_signature", "malformed_token"}


def test_issuance_with_bad_claims_is_a_problem(world: dict[str, Path], tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"right_to_work": "maybe"}))
    result = amana("credential", "issue", "--type", "RegistrationStatus", "--claims", bad,
                   "--issuer-key", world["issuer.jwk"], "--holder-jwk", world["holder.pub.jwk"])
    assert result.returncode == 1 and json.loads(result.stderr)["code"] == "invalid_claims"
    assert "maybe" not in result.stderr


def test_aud_without_nonce_is_a_usage_error(world: dict[str, Path]) -> None:
    result = amana("credential", "verify", world["presentation"], "--issuer-jwk", world["issuer.pub.jwk"],
                   "--aud", "https://v.test")
    assert result.returncode == 2


def test_plain_sd_jwt_profile_verifies_a_reference_vector(tmp_path: Path) -> None:
    import yaml

    settings = yaml.safe_load((VECTORS / "sd-jwt/settings.yml").read_text())
    jwk = tmp_path / "iss.jwk"
    jwk.write_text(json.dumps(settings["key_settings"]["issuer_key"]))
    vector = VECTORS / "sd-jwt/key_binding/sd_jwt_presentation.txt"
    as_vc = amana("credential", "verify", vector, "--issuer-jwk", jwk)
    assert as_vc.returncode == 1 and json.loads(as_vc.stderr)["code"] == "invalid_typ"
    plain = amana("credential", "verify", vector, "--issuer-jwk", jwk, "--profile", "sd-jwt",
                  "--aud", settings["identifiers"]["verifier"], "--nonce", settings["key_binding_nonce"],
                  "--kb-max-age", str(10**9))
    assert plain.returncode == 0, plain.stderr
    assert json.loads(plain.stdout)["claims"]["given_name"] == "John"


def test_demo_runs() -> None:
    result = amana("demo")
    assert result.returncode == 0, result.stderr
    assert "refused: the changed fact is not one the issuer signed (unreferenced_disclosure)" in result.stdout
    assert "refused: it answers an earlier check, not this one (nonce_mismatch)" in result.stdout
    assert "refused: the issuer is not on the trust list (issuer_not_accredited)" in result.stdout
    assert "status valid" in result.stdout and "refused (revoked)" in result.stdout
    assert "QR version 16 at level M" in result.stdout and "refused (replayed)" in result.stdout  # offline
    assert "consent log leaf 0 of 1: the proof verifies" in result.stdout  # the consent ledger's receipt
    assert "skill (the desk refused it: revoked; it kept nothing, so there is no receipt)" in result.stdout


def test_issuer_commands_share_the_store_with_the_server(tmp: Path) -> None:
    import os

    env = {**os.environ, "AMANA_DATA_DIR": str(tmp), "AMANA_PUBLIC_BASE_URL": "https://node.amana.test"}

    def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*AMANA, *map(str, args)], capture_output=True, text=True, cwd=REPO_ROOT, env=env,
                              check=False)

    created = run("issuer", "create-org", "--slug", "open-doors", "--name", "en=Open Doors", "--type",
                  "SkillCertificate", "--jwks-out", tmp / "jwks.json")
    assert created.returncode == 0, created.stderr
    org = json.loads(created.stdout)
    assert org["issuer"] == "https://node.amana.test/issuers/open-doors" and org["api_key"].startswith("amk_")
    assert "d" not in json.loads((tmp / "jwks.json").read_text())["keys"][0]
    offer = run("issuer", "offer", "--org", "open-doors", "--type", "SkillCertificate", "--claims",
                REPO_ROOT / "specs/credentials/SkillCertificate/example.json", "--batch", "3")
    assert offer.returncode == 0, offer.stderr
    body = json.loads(offer.stdout)
    assert body["link"].startswith("openid-credential-offer://?credential_offer_uri=") and len(body["pin"]) == 6
    # An NGO with no console shows the holder the offer's QR (helper-79: the printed qr_svg asks for a staff key)
    example = REPO_ROOT / "specs/credentials/SkillCertificate/example.json"
    drawn = run("issuer", "offer", "--org", "open-doors", "--type", "SkillCertificate", "--claims", example,
                "--qr", tmp / "offer.png")
    assert drawn.returncode == 0, drawn.stderr
    assert decode_qr_codes((tmp / "offer.png").read_bytes()) == [json.loads(drawn.stdout)["qr_link"]]
    assert json.loads(drawn.stdout)["qr"] == str(tmp / "offer.png")
    assert run("issuer", "offer", "--org", "open-doors", "--type", "SkillCertificate", "--claims", example,
               "--qr", tmp / "offer.svg").returncode == 0 and (tmp / "offer.svg").read_text().startswith("<svg")
    (tmp / "a-folder.png").mkdir()
    for where in (tmp / "offer.txt", tmp / "no-such-folder" / "offer.png", tmp / "a-folder.png"):  # before any offer
        refused = run("issuer", "offer", "--org", "open-doors", "--type", "SkillCertificate", "--claims", example,
                      "--qr", where)
        assert refused.returncode == 1 and json.loads(refused.stderr)["code"] == "invalid_input", refused.stderr
    assert len(run("issuer", "offers", "--org", "open-doors").stdout.splitlines()) == 3
    found = run("issuer", "skills", "operate forklift")  # the uri a claims file's skill wants
    assert json.loads(found.stdout.splitlines()[0]) == json.loads(example.read_text())["skill"]
    wrong = run("issuer", "offer", "--org", "open-doors", "--type", "RegistrationStatus", "--claims",
                REPO_ROOT / "specs/credentials/RegistrationStatus/example.json")
    assert wrong.returncode == 1 and json.loads(wrong.stderr)["code"] == "forbidden"
    assert run("issuer", "create-org", "--slug", "Bad Slug", "--name", "en=x", "--type", "SkillCertificate"
               ).returncode == 1
    rotated = run("issuer", "rotate-key", "--org", "open-doors")
    assert rotated.returncode == 0 and json.loads(rotated.stdout)["kid"]
