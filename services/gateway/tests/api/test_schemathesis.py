"""Property-based tests of the whole HTTP API against its own `/openapi.json`.

Schemathesis generates valid and invalid requests for every operation (wrong types, huge
and odd strings, unknown fields, missing parts) and runs all of its checks on the answers:
no 5xx, status codes, content types, headers and bodies as documented, invalid input
refused, valid input accepted, authentication enforced. The app runs in-process over its
in-memory backends with a few runs and events in place, so reads find something.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config._auth import AuthConfig

from pulse_contracts import RunState, RunStatus
from pulse_gateway import Settings, create_app
from pulse_gateway.adapters import InMemoryRunPublisher, InMemoryRunStore
from pulse_telemetry import setup_telemetry

API_KEY: Final = "schemathesis-key"


def _app() -> object:
    config = Settings(
        api_keys={API_KEY: "fuzz"},
        log_format="text",
        log_level="ERROR",
        rate_limit_per_s=0,  # thousands of requests in seconds are the point here
        max_body_bytes=64 * 1024,
    )
    store = InMemoryRunStore()
    for n, status in enumerate(RunStatus):
        run_id = f"run-{status.value}"
        store.runs[run_id] = RunState(
            run_id=run_id,
            tenant="fuzz",
            prompt=f"calculate {n}",
            status=status,
            created_at=datetime(2025, 1, 1, n, tzinfo=UTC),
        )
    return create_app(
        config,
        telemetry=setup_telemetry(config, install_global=False),
        store=store,
        publisher=InMemoryRunPublisher(),
    )


schema = schemathesis.openapi.from_asgi("/openapi.json", _app())
# Through the schema's security scheme, not as a plain header: Schemathesis then knows
# which requests it sends without the key on purpose (and expects them refused).
schema.config.auth = AuthConfig(openapi={"HTTPBearer": {"bearer": API_KEY}})


@schema.parametrize()
@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_the_api_matches_its_schema(case: schemathesis.Case) -> None:
    case.call_and_validate()
