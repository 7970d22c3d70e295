"""Every file the node and its commands write is its user's alone: files 0600, directories
0700 (issue 11: the SQLite database was created 0644)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import httpx
import pytest

from tests.server_process import NodeProcess

SKILL = Path("specs/credentials/SkillCertificate/example.json").read_text()


@pytest.mark.sqlite_only  # the SQLite file's mode; PostgreSQL keeps its files itself
def test_everything_the_node_writes_is_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    node = NodeProcess(data)
    created = node.cli("issuer", "create-org", "--slug", "ngo", "--name", "en=N", "--type", "SkillCertificate")
    node.cli("trust", "init", "--iss", node.base)
    node.cli("verifier", "init")
    with node:
        r = httpx.post(f"{node.base}/api/issuer/offers", headers={"Authorization": f"Bearer {created['api_key']}"},
                       json={"type": "SkillCertificate", "claims": json.loads(SKILL)}, timeout=10)
        assert r.status_code == 201
    written = [p for p in data.rglob("*")]
    assert any(p.name == "amana.db" for p in written) and any(p.suffix == ".jwk" or "key" in p.name for p in written)
    loose = {str(p.relative_to(data)): oct(stat.S_IMODE(p.stat().st_mode)) for p in [data, *written]
             if stat.S_IMODE(p.stat().st_mode) & 0o077}
    assert loose == {}
