"""The README's "Your first credential, step by step", run as written (issue 10, item 8).

The fenced block after the ``first-credential`` marker is read out of README.md and run
line by line with bash, in a scratch directory that holds what a fresh clone has (``.venv``
and ``specs``), against a real ``amana serve`` subprocess on plain http://127.0.0.1 with
its own ``AMANA_DATA_DIR`` (``var/`` there, as in a clone). ``<name>`` in a command is the
value of that name in the JSON the latest earlier command printed, as the README says.

The one liberty: port 8000 may be taken on a test machine, so ``amana serve`` gets
``--port`` with a free one (which sets its public URL, item 9), and the other commands
are told that URL in ``AMANA_PUBLIC_BASE_URL`` — what a reader on port 8000 never needs.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from core.settings import REPO_ROOT, Settings
from tests.node import free_port
from tests.raw_files import stored_bytes
from tests.server_process import until_concluded, wait_until_serving

BASH = shutil.which("bash") or "/bin/bash"
MARKER = "<!-- first-credential:"
PLACEHOLDER = re.compile(r"'?<(\w+)>'?")


def readme_commands(text: str) -> list[str]:
    """The commands of the marked block: comments and blank lines dropped, continuations joined."""
    block = text.split(MARKER, 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    commands, pending = [], ""
    for line in block.splitlines():
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if line and not line.startswith("#"):
            commands.append(line)
    return commands


def test_the_block_is_found_and_holds_the_whole_path() -> None:
    commands = readme_commands((REPO_ROOT / "README.md").read_text(encoding="utf-8"))
    words = [" ".join(c.split()[:3]) for c in commands]
    for step in ("amana verifier init", "amana trust init", "amana issuer create-org", "amana trust add-issuer",
                 "amana trust register-verifier", "amana trust sign", "amana serve &", "amana issuer offer",
                 "amana wallet create", "amana wallet receive", "amana verifier request", "amana wallet present",
                 "amana verifier result"):
        assert step in words, step
    assert words.index("amana trust init") < words.index("amana trust add-issuer") < words.index("amana trust sign")


def fill(command: str, printed: dict[str, Any]) -> str:
    """Put in each ``<name>`` the value printed last under that name, quoted for the shell."""
    missing = [name for name in PLACEHOLDER.findall(command) if name not in printed]
    assert not missing, f"{command}: nothing printed {missing} before"
    return PLACEHOLDER.sub(lambda m: shlex.quote(str(printed[m.group(1)])), command)


def test_first_credential_step_by_step(tmp_path: Path) -> None:
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))  # a clone after `make setup`
    (tmp_path / "specs").symlink_to(REPO_ROOT / "specs")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AMANA_") and k != "DATABASE_URL"}
    env = clean | {"AMANA_DATA_DIR": str(tmp_path / "var")}
    if clean.get("PYTHONPATH"):  # `make test-postgres` names tests/on_postgres relative to the repository: the
        # commands here run in the scratch directory and would not find it, so their node would stay on SQLite
        env["PYTHONPATH"] = os.pathsep.join(str(Path(p).resolve()) for p in clean["PYTHONPATH"].split(os.pathsep) if p)
    prelude: list[str] = []
    printed: dict[str, Any] = {}
    server: subprocess.Popen[str] | None = None
    last: dict[str, Any] = {}
    try:
        for command in readme_commands((REPO_ROOT / "README.md").read_text(encoding="utf-8")):
            if command.startswith((". ", "source ", "export ")):
                prelude.append(command)
                continue
            if command == "kill %1":
                assert server is not None and server.poll() is None, "the node stopped before the end"
                continue
            line = fill(command, printed)
            if line.endswith("&"):
                assert line.startswith("amana serve")
                script = "; ".join([*prelude, f"exec {line.rstrip('&').strip()} --port {port}"])
                log = tmp_path / "serve.log"
                with log.open("w") as out:  # a file, not a pipe nobody reads: the node must never block on its log
                    server = subprocess.Popen([BASH, "-c", script], cwd=tmp_path, env=env, text=True,
                                              stdout=out, stderr=subprocess.STDOUT)
                wait_until_serving(f"{base}/trust-list", server, log.read_text)
                continue
            def run(line: str = line) -> subprocess.CompletedProcess[str]:
                return subprocess.run([BASH, "-c", "; ".join([*prelude, line])], cwd=tmp_path, capture_output=True,
                                      text=True, input="y\n", env=env | {"AMANA_PUBLIC_BASE_URL": base}, check=False,
                                      timeout=120)

            # The README's result step: exit 3 is "still waiting" (a check may end a moment after the wallet's
            # answer on a loaded machine); a person asks again.
            done = until_concluded(run) if line.startswith("amana verifier result") else run()
            assert done.returncode == 0, f"{line}\nexit {done.returncode}\n{done.stdout}\n{done.stderr}"
            last = json.loads(done.stdout)
            printed |= last
        assert server is not None
        assert last["accepted"] is True, last
        [credential] = last["credentials"]
        assert credential["status"] == "valid" and credential["issuer"] == f"{base}/issuers/open-doors"
        assert credential["claims"]["skill"]["label"] == "operate forklift"
        # The node's store as the node sees it (no DATABASE_URL: it has none): SQLite's files, or PostgreSQL's rows.
        stored = stored_bytes(Settings(data_dir=tmp_path / "var", database_url=None))
        assert b"open-doors" in stored  # the store was read: the organisation's slug is kept
        assert b"operate forklift" not in stored and not (tmp_path / "var" / "wallet").exists()  # the vault only
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
