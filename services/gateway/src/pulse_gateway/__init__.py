"""pulse-gateway: the HTTP front door of Pulse.

It authenticates callers by API key, turns `POST /v1/runs` into a `RunRequested` on
`pulse.runs.requested` (after claiming the run id in the `pulse_run_state` KV bucket), and
answers `GET /v1/runs/{id}` from that bucket. It never plans or executes anything.
"""

from pulse_gateway.app import create_app, main
from pulse_gateway.config import Settings

__all__ = ["Settings", "create_app", "main"]
