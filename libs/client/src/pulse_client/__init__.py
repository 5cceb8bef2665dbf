"""pulse-client: talk to Pulse over HTTP from Python, and the `pulse` command."""

from pulse_client.client import PulseApiError, PulseClient

__all__ = ["PulseApiError", "PulseClient"]
