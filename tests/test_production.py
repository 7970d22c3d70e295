"""The production shape (issue 16, items 1 and 2): the compose file, the image's recipe, the
installed package, and ``amana serve --workers N``.

No Docker engine runs on these machines, so the image is not built here. What can be checked
without one is: Debian's ``docker-compose config`` accepts the file (and refuses it without a
public URL); the file and the Dockerfile keep the promises the README makes (a healthchecked
database with a volume, a one-shot migration first, a non-root user, no secret in either);
and the wheel the image installs — built here by the same ``pip wheel`` — carries the specs,
the migrations and the vendored QR reader, and starts the node with the image's own command.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from core.settings import REPO_ROOT
from tests.node import free_port
from tests.server_process import POSTGRES_URL, empty_postgres

COMPOSE = REPO_ROOT / "docker-compose.yml"
DOCKERFILE = REPO_ROOT / "Dockerfile"
SECRET_NAMES = re.compile(r"(PASSWORD|SECRET|KEY|TOKEN|DATABASE_URL)", re.IGNORECASE)


def _compose(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("docker-compose")
    assert binary, "Debian's docker-compose validates the file: apt-get install docker-compose (.ci/run does)"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AMANA_")}
    return subprocess.run([binary, "-f", str(COMPOSE), *args], capture_output=True, text=True, cwd=REPO_ROOT,
                          env=clean | env, check=False, timeout=60)


def test_docker_compose_accepts_the_file_and_demands_a_public_url() -> None:
    done = _compose("config", AMANA_PUBLIC_BASE_URL="https://amana.example.org")
    assert done.returncode == 0, done.stderr
    resolved = yaml.safe_load(done.stdout)
    assert resolved["services"]["node"]["environment"]["AMANA_PUBLIC_BASE_URL"] == "https://amana.example.org"
    refused = _compose("config")  # the public base URL is set once, and must be
    assert refused.returncode != 0 and "AMANA_PUBLIC_BASE_URL" in refused.stderr


def test_the_compose_file_keeps_its_promises() -> None:
    spec: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    services = spec["services"]
    db, migrate, node = services["db"], services["migrate"], services["node"]
    assert "pg_isready" in db["healthcheck"]["test"] and any(v.endswith(":/var/lib/postgresql/data")
                                                            for v in db["volumes"])
    assert migrate["command"] == ["migrate"] and migrate["restart"] == "no"
    assert migrate["depends_on"]["db"]["condition"] == "service_healthy"
    assert node["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert node["image"] == migrate["image"]  # one image, built once
    command = node["command"]
    assert command[0] == "serve" and "--workers" in command
    # Secrets arrive as files from ./secrets (made by scripts/make-secrets, never committed).
    for service in (db, migrate, node):
        for name, value in (service.get("environment") or {}).items():
            assert not SECRET_NAMES.search(name) or name.endswith("_FILE"), name
            assert "postgresql://" not in str(value)
    assert {s["file"] for s in spec["secrets"].values()} == {"./secrets/postgres_password", "./secrets/database_url",
                                                             "./secrets/amana_secret_key"}
    assert "/secrets/" in (REPO_ROOT / ".gitignore").read_text().split()
    assert "secrets" in (REPO_ROOT / ".dockerignore").read_text().split()


def _instructions() -> list[tuple[str, str]]:
    lines = [line.strip() for line in DOCKERFILE.read_text().splitlines()]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines if line and not
            line.startswith("#")]


def _final_stage() -> list[tuple[str, str]]:
    steps = _instructions()
    last = max(i for i, (op, _) in enumerate(steps) if op == "FROM")
    return steps[last:]


def test_the_image_runs_as_its_own_user_with_no_secret_built_in() -> None:
    final = _final_stage()
    users = [arg for op, arg in final if op == "USER"]
    assert users and users[-1] not in ("root", "0")
    for op, arg in _instructions():
        if op in ("ENV", "ARG"):
            assert not SECRET_NAMES.search(arg), arg
        if op == "COPY":
            assert "secrets" not in arg
    entry = [json.loads(arg) for op, arg in final if op == "ENTRYPOINT"]
    assert entry == [["amana"]]


def _image_command() -> list[str]:
    [cmd] = [json.loads(arg) for op, arg in _final_stage() if op == "CMD"]
    return ["amana", *cmd]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel the image installs (``pip wheel .`` as the Dockerfile's build stage runs it), unpacked."""
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "--wheel-dir", str(out), str(REPO_ROOT)], capture_output=True, text=True, check=False,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    [wheel] = out.glob("amana-*.whl")
    site = out / "site"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(site)
    for shipped in ("core/specs/credentials/SkillCertificate/type-metadata.json", "core/specs/queries/skill-check.json",
                    "core/migrations/env.py", "core/static/vendor/zxing_reader.wasm", "wallet/templates/base.html",
                    "core/data/esco/skills.tsv.gz",
                    "core/pictograms.json", "core/static/pictograms/certificate.svg",
                    "core/static/pictograms/LICENSE.tabler-icons", "core/static/listen.js"):
        assert shipped in names, shipped
    assert not any(n.startswith(("tests/", "bench/")) for n in names)
    return site


def _from_wheel(site: Path, data: Path, **env: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AMANA_") and k != "DATABASE_URL"}
    return clean | {"PYTHONPATH": str(site), "AMANA_DATA_DIR": str(data), **env}


def test_the_installed_package_finds_its_specs_and_migrations_inside_itself(installed: Path, tmp_path: Path) -> None:
    probe = ("import core.settings as s, core.db as d; "
             "print(s.get_settings().specs_dir); print(d.MIGRATIONS)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path,
                          env=_from_wheel(installed, tmp_path / "data"), check=True, timeout=60)
    specs, migrations = done.stdout.split()
    assert Path(specs) == installed / "core" / "specs" and Path(migrations) == installed / "core" / "migrations"


@pytest.fixture()
def secrets_dir(tmp_path: Path) -> Iterator[Path]:
    """Secrets as compose mounts them: one file each, named after the variable."""
    folder = tmp_path / "run-secrets"
    folder.mkdir()
    (folder / "amana_secret_key").write_text("q6qEo3Vt1b4yMYSEX3E9b8hzJ8b2LqgM8lYc1Tqk2Fw\n")
    if POSTGRES_URL:
        (folder / "database_url").write_text(POSTGRES_URL + "\n")
    yield folder


def _wait_healthy(base: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[0]
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise TimeoutError("the node did not start")


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.extend(int(p) for p in text)
    return found


def test_the_images_command_starts_the_node_with_its_workers(installed: Path, secrets_dir: Path,
                                                               tmp_path: Path) -> None:
    """The image's ENTRYPOINT + CMD, run from the installed wheel with the environment compose gives
    it: secrets from files, an https public URL. Only the interface is loopback here (no network
    beyond it in tests) and the port a free one."""
    if not POSTGRES_URL:
        pytest.skip("several workers need PostgreSQL (.ci/run starts one: eval \"$(.ci/postgres)\")")
    empty_postgres(POSTGRES_URL)
    command = _image_command()
    assert command[command.index("--host") + 1] == "0.0.0.0"  # noqa: S104 (reading the image, not binding)
    port = free_port()
    command[command.index("--host") + 1] = "127.0.0.1"
    command[command.index("--port") + 1] = str(port)
    workers = int(command[command.index("--workers") + 1])
    assert workers >= 2
    env = _from_wheel(installed, tmp_path / "data", AMANA_SECRETS_DIR=str(secrets_dir),
                      AMANA_PUBLIC_BASE_URL="https://amana.example.org")
    runner = "import sys; from server.cli import app; sys.argv[0] = 'amana'; app()"
    with subprocess.Popen([sys.executable, "-c", runner, *command[1:]], cwd=tmp_path, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as process:
        try:
            _wait_healthy(f"http://127.0.0.1:{port}", process)
            assert len(_children(process.pid)) >= workers  # uvicorn's supervisor and its worker processes
            meta = httpx.get(f"http://127.0.0.1:{port}/wallet", timeout=10, follow_redirects=True)
            assert meta.status_code == 200 and "Bring a wallet from a file" in meta.text  # templates from the wheel
            assert 'data-pictogram="lock"><path' in meta.text  # a vendored pictogram, drawn from the wheel
            reader = httpx.get(f"http://127.0.0.1:{port}/static/amana/vendor/zxing_reader.wasm", timeout=10)
            assert reader.status_code == 200 and reader.content[:4] == b"\0asm"  # the vendored QR reader
        finally:
            process.terminate()
            output, _ = process.communicate(timeout=30)
    assert "Traceback" not in output
    assert "https://amana.example.org" in output and "workers: 2" in output
    assert not list((tmp_path / "data").glob("amana.db*"))  # PostgreSQL held everything
    assert not (tmp_path / "data" / "secret.key").exists()  # the node key came from the secret file


def test_several_workers_need_a_database_server(tmp_path: Path) -> None:
    env = _from_wheel(REPO_ROOT, tmp_path)
    env.pop("PYTHONPATH")
    done = subprocess.run([sys.executable, "-m", "server.cli", "serve", "--workers", "2", "--port", str(free_port())],
                          capture_output=True, text=True, cwd=REPO_ROOT, env=env, check=False, timeout=60)
    assert done.returncode == 2 and "DATABASE_URL" in done.stderr


def test_migrate_brings_the_schema_up_once_and_again_changes_nothing(tmp_path: Path) -> None:
    env = _from_wheel(REPO_ROOT, tmp_path)
    env.pop("PYTHONPATH")
    for _ in range(2):
        done = subprocess.run([sys.executable, "-m", "server.cli", "migrate"], capture_output=True, text=True,
                              cwd=REPO_ROOT, env=env, check=False, timeout=60)
        assert done.returncode == 0 and "up to date" in done.stdout, done.stderr
    import sqlite3

    with sqlite3.connect(tmp_path / "amana.db") as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"alembic_version", "issuer_offers", "wallet_vaults"} <= tables, tables


def test_make_secrets_writes_what_compose_mounts_and_keeps_what_exists(tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    (copy / "scripts").mkdir(parents=True)
    shutil.copy(REPO_ROOT / "scripts" / "make-secrets", copy / "scripts" / "make-secrets")
    subprocess.run([str(copy / "scripts" / "make-secrets")], check=True, capture_output=True, timeout=30)
    made = {p.name: p.read_text().strip() for p in (copy / "secrets").iterdir()}
    assert set(made) == {"postgres_password", "database_url", "amana_secret_key"}
    assert made["database_url"] == f"postgresql://amana:{made['postgres_password']}@db:5432/amana"
    assert len(made["amana_secret_key"]) == 43 and (copy / "secrets").stat().st_mode & 0o777 == 0o700
    subprocess.run([str(copy / "scripts" / "make-secrets")], check=True, capture_output=True, timeout=30)
    assert {p.name: p.read_text().strip() for p in (copy / "secrets").iterdir()} == made
    assert shlex.quote(made["postgres_password"]) == made["postgres_password"]  # URL- and shell-safe


def _docker_engine() -> str | None:
    docker = shutil.which("docker")
    if docker is None:
        return None
    probe = subprocess.run([docker, "info"], capture_output=True, check=False, timeout=30)
    return docker if probe.returncode == 0 else None


@pytest.mark.skipif(_docker_engine() is None, reason="no Docker engine on this machine (the image builds where one is)")
def test_the_image_builds_and_its_entry_point_answers() -> None:  # pragma: no cover - needs a Docker engine
    docker = _docker_engine()
    assert docker is not None
    built = subprocess.run([docker, "build", "--tag", "amana:test", str(REPO_ROOT)], capture_output=True, text=True,
                           check=False, timeout=1800)
    assert built.returncode == 0, built.stderr[-4000:]
    user = subprocess.run([docker, "run", "--rm", "--entrypoint", "id", "amana:test", "-u"], capture_output=True,
                          text=True, check=True, timeout=120)
    assert user.stdout.strip() != "0"  # not root
    helped = subprocess.run([docker, "run", "--rm", "amana:test", "serve", "--help"], capture_output=True, text=True,
                            check=False, timeout=120)
    assert helped.returncode == 0 and "--workers" in helped.stdout
