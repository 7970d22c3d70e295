"""schemathesis against the node's OpenAPI (issuer and verifier), over real HTTP on loopback: no 5xx,
and every answer as the document says, refusals included (its status, media type and shape:
core.openapi_errors).

Cases come from schemathesis' Hypothesis strategies, one operation at a time (its pytest
plugin does not run on pytest 9 yet). Staff operations get a real API key, so generated
cases reach the handlers instead of stopping at authentication; a trust list is in place so
verifier checks can be created.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import content_type_conformance, response_schema_conformance, status_code_conformance

from core.settings import REPO_ROOT
from tests.node import RunningNode


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningNode, dict[str, str]]]:
    data_dir = tmp_path_factory.mktemp("schemathesis")
    env = {**os.environ, "AMANA_DATA_DIR": str(data_dir)}

    def cli(*args: str) -> dict[str, str]:
        done = subprocess.run([sys.executable, "-m", "server.cli", *args], capture_output=True, text=True,
                              cwd=REPO_ROOT, env=env, check=True)
        out: dict[str, str] = json.loads(done.stdout)
        return out

    issuer = cli("issuer", "create-org", "--slug", "open-doors", "--name", "en=Open Doors", "--type",
                 "SkillCertificate")
    desk = cli("verifier", "init")
    trust = str(data_dir / "trust")
    cli("trust", "init", "--iss", "https://governance.amana.test", "--dir", trust)
    (data_dir / "verifier.jwks").write_text(json.dumps(desk["jwks"]))
    cli("trust", "register-verifier", "--dir", trust, "--id", desk["verifier_id"], "--name", "en=Desk", "--jwks",
        str(data_dir / "verifier.jwks"), "--purpose", "dpv:HumanResourceManagement", "--legal-basis",
        "dpv:LegalObligation", "--claims", "RegistrationStatus:right_to_work,valid_until")
    cli("trust", "sign", "--dir", trust)
    with RunningNode(data_dir) as running:
        yield running, {"/api/issuer": issuer["api_key"], "/api/verifier": desk["desk_key"]}


AS_DOCUMENTED = [status_code_conformance, content_type_conformance, response_schema_conformance]


def test_every_answer_is_as_documented_and_none_a_failure(node: tuple[RunningNode, dict[str, str]]) -> None:
    running, api_keys = node
    schema = schemathesis.openapi.from_dict(httpx.get(f"{running.base}/openapi.json").json())
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) >= 10
    failures: list[str] = []
    with httpx.Client(base_url=running.base, timeout=10) as http:
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            def run(case: schemathesis.Case) -> None:
                headers = dict(case.headers or {})
                for prefix, api_key in api_keys.items():
                    if case.path.startswith(prefix):
                        headers["Authorization"] = f"Bearer {api_key}"
                try:
                    response = http.request(case.method, case.formatted_path, params=case.query,
                                            headers={k: str(v) for k, v in headers.items()}, content=_body(case))
                except (UnicodeEncodeError, httpx.LocalProtocolError):
                    return  # a header HTTP itself cannot carry: the client refuses it, no server involved
                if response.status_code >= 500:
                    failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}")
                try:
                    case.validate_response(response, checks=AS_DOCUMENTED)
                except BaseExceptionGroup as exc:  # schemathesis' FailureGroup: what differs, one line each
                    failures.append(f"{case.method} {case.path} -> {response.status_code}: "
                                    + "; ".join(str(e).splitlines()[0] for e in exc.exceptions))

            run()
    assert not failures, failures[:5]


def _body(case: schemathesis.Case) -> bytes | None:
    if case.body is None or isinstance(case.body, schemathesis.core.NotSet):
        return None
    if isinstance(case.body, bytes | str):
        return case.body.encode() if isinstance(case.body, str) else case.body
    return json.dumps(case.body).encode()
