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
from pulse_agent_adapter.domain.extract_code import ExtractCodeTool
from pulse_agent_adapter.domain.llm import (
    ChatRequest,
    Completion,
    CompletionService,
    Deadline,
    LlmCall,
    LlmProvider,
)
from pulse_agent_adapter.domain.llm_errors import (
    BudgetExceeded,
    LlmBusy,
    ProviderFailed,
    UnknownAgent,
)
from pulse_agent_adapter.domain.llm_tools import LlmBatchTool, LlmCompleteTool, LlmJudgeTool
from pulse_agent_adapter.domain.text import TextRepeatTool
from pulse_agent_adapter.domain.todos import (
    TodoAddTool,
    TodoItem,
    TodoList,
    TodoListFullError,
    TodoListTool,
    TodoStore,
    todo_id,
)
from pulse_agent_adapter.domain.tools import (
    Tool,
    ToolContext,
    ToolRegistry,
    parse_input,
    tool_spec,
)

__all__ = [
    "BudgetExceeded",
    "CalculationError",
    "CalculatorTool",
    "ChatRequest",
    "Completion",
    "CompletionService",
    "Counter",
    "CounterFullError",
    "CounterIncrementTool",
    "CounterStore",
    "Deadline",
    "ExtractCodeTool",
    "Increment",
    "LlmBatchTool",
    "LlmBusy",
    "LlmCall",
    "LlmCompleteTool",
    "LlmJudgeTool",
    "LlmProvider",
    "ProviderFailed",
    "TextRepeatTool",
    "TodoAddTool",
    "TodoItem",
    "TodoList",
    "TodoListFullError",
    "TodoListTool",
    "TodoStore",
    "Tool",
    "ToolContext",
    "ToolRegistry",
    "UnknownAgent",
    "effect_id",
    "evaluate",
    "execute_task",
    "parse_input",
    "todo_id",
    "tool_spec",
]
