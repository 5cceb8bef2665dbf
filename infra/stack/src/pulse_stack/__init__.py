"""pulse-stack: run Pulse locally — embedded servers, the five services, the demo."""

from pulse_stack.ports import free_port, wait_for_port
from pulse_stack.servers import EmbeddedNats, EmbeddedPostgres, ServerProcess

__all__ = ["EmbeddedNats", "EmbeddedPostgres", "ServerProcess", "free_port", "wait_for_port"]
