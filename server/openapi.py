"""``python -m server.openapi``: write the node's OpenAPI document to ``specs/openapi/amana.json``.

The file is committed so the API can be read and diffed without running anything; a test
fails when the code and the file drift apart (run this module to refresh it).
"""

from __future__ import annotations

import json
from pathlib import Path

from core.settings import REPO_ROOT, Settings
from server.app import build_app

TARGET = REPO_ROOT / "specs" / "openapi" / "amana.json"


def document() -> str:
    spec = build_app(Settings(data_dir=Path("/nonexistent"), public_base_url="https://node.example")).openapi()
    return json.dumps(spec, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_text(document(), encoding="utf-8")
    print(f"wrote {TARGET.relative_to(REPO_ROOT)}")
