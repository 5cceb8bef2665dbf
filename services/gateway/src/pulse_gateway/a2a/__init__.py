"""A2A protocol 1.0 (and the 0.3 method names) for the gateway, on the official a2a-sdk.

A Pulse run IS an A2A task: task id = run id, task state = run status, each completed
step's output an artifact, progress a stream of status and artifact updates made from the
run's events. Tenants come from the same API keys as the REST API. `mount_a2a(app)` adds
the agent card and both bindings to an app `create_app` built.
"""

from pulse_gateway.a2a.card import AGENT_CARD_PATH, JSONRPC_PATH, REST_PATH, agent_card
from pulse_gateway.a2a.catalog import InMemoryRunCatalog, KvRunCatalog, RunCatalog
from pulse_gateway.a2a.feed import run_events
from pulse_gateway.a2a.routes import A2aGateway, mount_a2a

__all__ = [
    "AGENT_CARD_PATH",
    "JSONRPC_PATH",
    "REST_PATH",
    "A2aGateway",
    "InMemoryRunCatalog",
    "KvRunCatalog",
    "RunCatalog",
    "agent_card",
    "mount_a2a",
    "run_events",
]
