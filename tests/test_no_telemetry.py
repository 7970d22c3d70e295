"""No request leaves a trace in OpenTelemetry, whatever the process has configured (core/service.py).

FastAPI 0.165 and later trace, count and log every request by themselves once any OpenTelemetry
provider is set in the process, with the concrete path and query (an offer id, a check id). The
probe runs in a child process, since a global provider cannot be unset: it sets recording tracer,
meter and logger providers (the API's own base classes, no SDK), sends the node requests that carry
such ids, and reports what the providers were asked for. A node built without ``NO_TELEMETRY``
reports a span with ``url.path`` holding the offer id (checked when this test was written).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from core.settings import REPO_ROOT

PROBE = r"""
import asyncio, json, sys, tempfile
from pathlib import Path
from opentelemetry import _logs, metrics, trace
from opentelemetry.trace import INVALID_SPAN_CONTEXT, NonRecordingSpan

asked = []

class Span(NonRecordingSpan):
    def __init__(self, name, attributes):
        super().__init__(INVALID_SPAN_CONTEXT)
        asked.append(("span", name, dict(attributes or {})))
    def is_recording(self):
        return True
    def set_attribute(self, key, value):
        asked.append(("attribute", key, value))
    def set_attributes(self, attributes):
        asked.append(("attributes", dict(attributes)))

class Tracer(trace.Tracer):
    def start_span(self, name, context=None, kind=None, attributes=None, *args, **kwargs):
        return Span(name, attributes)
    def start_as_current_span(self, name, *args, **kwargs):
        return trace.use_span(self.start_span(name, attributes=kwargs.get("attributes")), end_on_exit=True)

class TracerProvider(trace.TracerProvider):
    def get_tracer(self, *args, **kwargs):
        asked.append(("tracer",))
        return Tracer()

class MeterProvider(metrics.NoOpMeterProvider):
    def get_meter(self, *args, **kwargs):
        asked.append(("meter",))
        return super().get_meter(*args, **kwargs)

class LoggerProvider(_logs.NoOpLoggerProvider):
    def get_logger(self, *args, **kwargs):
        asked.append(("logger",))
        return super().get_logger(*args, **kwargs)

trace.set_tracer_provider(TracerProvider())
metrics.set_meter_provider(MeterProvider())
_logs.set_logger_provider(LoggerProvider())

import httpx
from core.settings import Settings
from server.app import build_app

async def main():
    with tempfile.TemporaryDirectory() as data:
        app = build_app(Settings(data_dir=Path(data), public_base_url="https://node.example"))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="https://node.example") as client:
                served = [(await client.get("/issuers/ngo/offers/OFFER-ID-7Q?pin=1")).status_code,
                          (await client.get("/verifier/check/CHECK-ID-9Z")).status_code,
                          (await client.get("/")).status_code]
    print(json.dumps({"served": served, "asked": asked}, default=str))

asyncio.run(main())
"""


def test_a_configured_opentelemetry_provider_is_asked_for_nothing(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT), "FASTAPI_OTEL_AUTO_CONFIGURE": "true"}
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(report["served"]) == 3 and all(isinstance(code, int) for code in report["served"])  # requests ran
    assert report["asked"] == []
