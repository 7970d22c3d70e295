"""``amana credential issue --offline`` / ``present --offline-qr`` / ``verify --qr``, run as real subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.settings import REPO_ROOT

AMANA = [sys.executable, "-m", "server.cli"]
EXAMPLE = REPO_ROOT / "specs/credentials/SkillCertificate/example.json"


def amana(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*AMANA, *map(str, args)], capture_output=True, text=True, cwd=REPO_ROOT, check=False,
                          timeout=120)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("offline-cli")
    paths = {n: d / n for n in ("issuer.jwk", "issuer.pub.jwk", "holder.jwk", "holder.pub.jwk", "cred.json")}
    assert amana("keys", "generate", "--alg", "EdDSA", "--out", paths["issuer.jwk"],
                 "--public-out", paths["issuer.pub.jwk"]).returncode == 0
    holder = amana("keys", "generate", "--out", paths["holder.jwk"], "--public-out", paths["holder.pub.jwk"])
    assert holder.returncode == 0
    issued = amana("credential", "issue", "--type", "SkillCertificate", "--claims", EXAMPLE, "--offline",
                   "--issuer-key", paths["issuer.jwk"], "--holder-jwk", paths["holder.pub.jwk"], "--status-list", "3")
    assert issued.returncode == 0, issued.stderr
    paths["cred.json"].write_text(issued.stdout)
    return paths


def _present(world: dict[str, Path], out: Path, nonce: str = "n-1", *extra: str) -> subprocess.CompletedProcess[str]:
    return amana("credential", "present", world["cred.json"], "--disclose", "given_name,family_name",
                 "--disclose", "skill", "--holder-key", world["holder.jwk"], "--aud", "https://v.test", "--nonce",
                 nonce, "--offline-qr", out, *extra)


def test_issue_offline_writes_the_compact_credential_with_one_disclosure_per_claim(world: dict[str, Path]) -> None:
    doc = json.loads(world["cred.json"].read_text())
    assert doc["format"] == "amana-offline+cose" and doc["vct"] == "urn:amana:credential:SkillCertificate:1"
    assert set(doc["disclosures"]) == set(json.loads(EXAMPLE.read_text()))


def test_the_png_qr_verifies_and_prints_claims_like_the_online_verify(world: dict[str, Path], tmp_path: Path) -> None:
    shown = _present(world, tmp_path / "qr.png")
    assert shown.returncode == 0, shown.stderr
    written = json.loads(shown.stdout)
    assert written["version"] <= 16 and written["aud"] == "https://v.test"  # aud: in the output only
    result = amana("credential", "verify", "--qr", tmp_path / "qr.png", "--issuer-jwk", world["issuer.pub.jwk"],
                   "--aud", "https://v.test", "--nonce", "n-1")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["claims"]["given_name"] == "Layla" and out["claims"]["skill"]["label"] == "operate forklift"
    assert "awarded_on" not in out["claims"]
    assert out["status"] == "unknown"  # no cached status list on the command line: never "valid"


def test_another_nonce_is_refused_with_its_code(world: dict[str, Path], tmp_path: Path) -> None:
    assert _present(world, tmp_path / "qr.png").returncode == 0
    result = amana("credential", "verify", "--qr", tmp_path / "qr.png", "--issuer-jwk", world["issuer.pub.jwk"],
                   "--aud", "https://v.test", "--nonce", "n-2")
    assert result.returncode == 1 and json.loads(result.stderr)["code"] == "nonce_mismatch"


def test_an_svg_qr_is_written_when_asked(world: dict[str, Path], tmp_path: Path) -> None:
    shown = _present(world, tmp_path / "qr.svg")
    assert shown.returncode == 0, shown.stderr
    assert (tmp_path / "qr.svg").read_text().startswith("<svg ")


def test_a_paper_window_is_reported(world: dict[str, Path], tmp_path: Path) -> None:
    nonce = "0123456789abcdef"
    assert _present(world, tmp_path / "paper.png", nonce, "--window", str(30 * 86400)).returncode == 0
    result = amana("credential", "verify", "--qr", tmp_path / "paper.png", "--issuer-jwk", world["issuer.pub.jwk"],
                   "--aud", "A", "--nonce", nonce)
    out = json.loads(result.stdout)
    assert out["paper"] is True and "anyone holding this paper" in out["notice"]


def test_issue_offline_needs_a_p256_holder_key(world: dict[str, Path], tmp_path: Path) -> None:
    ed = tmp_path / "ed.jwk"
    assert amana("keys", "generate", "--alg", "EdDSA", "--out", tmp_path / "x.jwk", "--public-out", ed).returncode == 0
    result = amana("credential", "issue", "--type", "SkillCertificate", "--claims", EXAMPLE, "--offline",
                   "--issuer-key", world["issuer.jwk"], "--holder-jwk", ed)
    assert result.returncode == 1 and json.loads(result.stderr)["code"] == "invalid_key"


def test_nested_paths_are_refused_for_an_offline_copy(world: dict[str, Path], tmp_path: Path) -> None:
    result = amana("credential", "present", world["cred.json"], "--disclose", "skill.uri", "--holder-key",
                   world["holder.jwk"], "--aud", "A", "--nonce", "n", "--offline-qr", tmp_path / "q.png")
    assert result.returncode == 1 and json.loads(result.stderr)["code"] == "unknown_claim_path"


def test_an_image_without_an_offline_qr_is_refused(world: dict[str, Path], tmp_path: Path) -> None:
    from core import qr

    (tmp_path / "other.png").write_bytes(qr.png("https://example.test/"))
    result = amana("credential", "verify", "--qr", tmp_path / "other.png", "--issuer-jwk", world["issuer.pub.jwk"])
    assert result.returncode == 1 and json.loads(result.stderr)["code"] == "malformed_offline_qr"
