"""The house's walls, checked on every import statement (ARCHITECTURE.md, "Layout").

``core`` is the floor every service stands on: it imports no service and not the
composition root (``server``). A service (issuer, verifier, wallet, consent) imports
``core`` and itself, never another service: what two services share goes down into
``core``. Only ``server`` (``amana serve``, the ``amana`` command, the demo) knows them all.
One door is open on purpose: the consent ledger is also a *library* the verifier and the
wallet call in process (issue 14: the verifier records each disclosure, the wallet checks
its receipts), so those two may import ``consent``; ``consent`` itself imports no service.
Imports are read with ``ast``, so an import inside a function counts as much as one at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SERVICES = frozenset({"issuer", "verifier", "wallet", "consent"})
ABOVE_CORE = SERVICES | {"server"}
LIBRARIES = {"verifier": {"consent"}, "wallet": {"consent"}}  # see the docstring


def imported_packages(path: Path) -> set[tuple[int, str]]:
    """(line, top-level package) for every absolute import in a file."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found |= {(node.lineno, alias.name.split(".")[0]) for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add((node.lineno, node.module.split(".")[0]))
    return found


def violations(root: Path) -> list[str]:
    """Every import that crosses a wall, as ``path:line imports package``."""
    wrong = []
    for package in sorted(SERVICES | {"core"}):
        forbidden = ABOVE_CORE if package == "core" else ABOVE_CORE - {package} - LIBRARIES.get(package, set())
        for path in sorted((root / package).rglob("*.py")):
            for line, imported in sorted(imported_packages(path)):
                if imported in forbidden:
                    wrong.append(f"{path.relative_to(root)}:{line} imports {imported}")
    return wrong


def test_core_imports_no_service_and_no_service_imports_another() -> None:
    assert violations(REPO) == []


@pytest.mark.parametrize(("package", "source", "crossing"), [
    ("core", "from issuer.cli import issuer_app\n", "issuer"),
    ("core", "def f():\n    from server.app import build_app\n", "server"),
    ("core", "import wallet.receive\n", "wallet"),
    ("verifier", "from issuer.offers import new_code\n", "issuer"),
    ("verifier", "from wallet.receive import well_known\n", "wallet"),
    ("consent", "import verifier\n", "verifier"),
    ("consent", "from wallet import ledger\n", "wallet"),
    ("issuer", "from consent import records\n", "consent"),
    ("issuer", "from server import background\n", "server"),
])
def test_the_check_sees_each_kind_of_crossing(tmp_path: Path, package: str, source: str, crossing: str) -> None:
    (tmp_path / package).mkdir()
    (tmp_path / package / "module.py").write_text(source)
    assert [v.split(" imports ")[1] for v in violations(tmp_path)] == [crossing]


def test_a_service_may_import_itself_and_core(tmp_path: Path) -> None:
    (tmp_path / "verifier").mkdir()
    (tmp_path / "verifier" / "module.py").write_text(
        "from core import keys\nfrom verifier import store\nfrom . import tables\nimport httpx\n")
    assert violations(tmp_path) == []
