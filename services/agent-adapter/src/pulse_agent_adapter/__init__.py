"""pulse-agent-adapter: runs the tool of every dispatched step and reports its outcome.

It consumes `DispatchTask` from `pulse.tasks.dispatch.<agent>` and publishes one
`TaskFinished` per attempt on `pulse.tasks.result`. Tools: `calculator`, `todo.add`,
`todo.list` and `llm.complete` (offline deterministic provider by default).
"""

from pulse_agent_adapter.app import create_app, main
from pulse_agent_adapter.config import Settings

__all__ = ["Settings", "create_app", "main"]
