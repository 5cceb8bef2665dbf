"""The agent-adapter's logic: tools, their registry and running a dispatched task.

Plain typed code with no FastStream, NATS or HTTP import; the outside world (todo
storage, counters, LLM providers) comes in through the `TodoStore`, `CounterStore` and
`LlmProvider` protocols.
"""

from pulse_agent_adapter.domain.calculator import CalculationError, CalculatorTool, evaluate
from pulse_agent_adapter.domain.counter import (
    Counter,
    CounterFullError,
    CounterIncrementTool,
    CounterStore,
    Increment,
    effect_id,
)
from pulse_agent_adapter.domain.execution import execute_task
from pulse_agent_adapter.domain.llm import Completion, LlmCompleteTool, LlmProvider
from pulse_agent_adapter.domain.todos import (
    TodoAddTool,
    TodoItem,
    TodoList,
    TodoListFullError,
    TodoListTool,
    TodoStore,
    todo_id,
)
from pulse_agent_adapter.domain.tools import Tool, ToolContext, ToolRegistry, parse_input

__all__ = [
    "CalculationError",
    "CalculatorTool",
    "Completion",
    "Counter",
    "CounterFullError",
    "CounterIncrementTool",
    "CounterStore",
    "Increment",
    "LlmCompleteTool",
    "LlmProvider",
    "TodoAddTool",
    "TodoItem",
    "TodoList",
    "TodoListFullError",
    "TodoListTool",
    "TodoStore",
    "Tool",
    "ToolContext",
    "ToolRegistry",
    "effect_id",
    "evaluate",
    "execute_task",
    "parse_input",
    "todo_id",
]
