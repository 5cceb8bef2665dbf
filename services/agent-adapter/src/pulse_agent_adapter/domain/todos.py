"""The `todo.add` and `todo.list` tools and the per-tenant todo list they share.

A todo's id is `<run_id>:<step_id>`: a step that runs again (a redelivery, a retry, a
restarted run) finds its todo already there and returns it, so the effect happens once.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from datetime import datetime
from typing import Final, Protocol

from pydantic import BaseModel, ConfigDict, Field

from pulse_agent_adapter.domain.tools import ToolContext, parse_input
from pulse_contracts import JsonValue, utcnow

__all__ = [
    "MAX_TODO_TEXT",
    "TodoAddInput",
    "TodoAddTool",
    "TodoItem",
    "TodoList",
    "TodoListFullError",
    "TodoListInput",
    "TodoListTool",
    "TodoStore",
    "todo_id",
    "todo_text",
]

MAX_TODO_TEXT: Final = 2000


def todo_id(run_id: str, step_id: str) -> str:
    """The id of the todo a step adds: the same every time that step runs."""
    return f"{run_id}:{step_id}"


def todo_text(value: str | int | float | bool) -> str:
    """A scalar as todo text, spelled the way JSON spells it (`true`, `15`, `2.5`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class TodoItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    text: str
    run_id: str
    step_id: str
    created_at: datetime


class TodoListFullError(Exception):
    """The tenant's list holds as many todos as it may."""


class TodoList(BaseModel):
    """Every todo of one tenant: one document, so one compare-and-set adds a todo."""

    tenant: str
    items: list[TodoItem] = Field(default_factory=list)

    def find(self, item_id: str) -> TodoItem | None:
        return next((item for item in self.items if item.id == item_id), None)

    def adding(self, item: TodoItem, *, max_items: int) -> TodoList:
        """This list with `item` appended; callers check `find` first."""
        if len(self.items) >= max_items:
            raise TodoListFullError(
                f"the todo list of tenant {self.tenant!r} is full ({max_items})"
            )
        return TodoList(tenant=self.tenant, items=[*self.items, item])


class TodoStore(Protocol):
    """Where each tenant's todos live."""

    async def add(self, tenant: str, item: TodoItem) -> TodoItem:
        """Store `item` unless the tenant has a todo with its id; return the stored todo.

        Raises `TodoListFullError` when the tenant's list is at its limit.
        """
        ...

    async def list(self, tenant: str) -> builtins.list[TodoItem]:
        """The tenant's todos in the order they were added."""
        ...


class TodoAddInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # A step's text is often another step's output (`{{steps.calc.output}}`), so any JSON
    # scalar is accepted and spelled as text.
    text: str | int | float | bool = Field(
        description="The todo; numbers and booleans become text."
    )


class TodoListInput(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TodoAddTool:
    name = "todo.add"
    description = (
        "Add a todo to the tenant's list and return it as {id, text, run_id, step_id, "
        "created_at}. Running the same step again returns the todo it added before."
    )

    def __init__(self, store: TodoStore, clock: Callable[[], datetime] = utcnow) -> None:
        self._store = store
        self._clock = clock

    @property
    def input_schema(self) -> dict[str, JsonValue]:
        return TodoAddInput.model_json_schema()

    async def run(self, input: dict[str, JsonValue], ctx: ToolContext) -> JsonValue:
        args = parse_input(TodoAddInput, input, ctx)
        text = todo_text(args.text).strip()
        if not text:
            raise ctx.failure("invalid input: text must not be empty")
        if len(text) > MAX_TODO_TEXT:
            raise ctx.failure(f"invalid input: text is longer than {MAX_TODO_TEXT} characters")
        item = TodoItem(
            id=todo_id(ctx.run_id, ctx.step_id),
            text=text,
            run_id=ctx.run_id,
            step_id=ctx.step_id,
            created_at=self._clock(),
        )
        try:
            stored = await self._store.add(ctx.tenant, item)
        except TodoListFullError as exc:
            raise ctx.failure(str(exc)) from None
        return stored.model_dump(mode="json")


class TodoListTool:
    name = "todo.list"
    description = (
        'List the tenant\'s todos as {"todos": [{id, text, run_id, step_id, created_at}, ...]}.'
    )

    def __init__(self, store: TodoStore) -> None:
        self._store = store

    @property
    def input_schema(self) -> dict[str, JsonValue]:
        return TodoListInput.model_json_schema()

    async def run(self, input: dict[str, JsonValue], ctx: ToolContext) -> JsonValue:
        parse_input(TodoListInput, input, ctx)
        items = await self._store.list(ctx.tenant)
        return {"todos": [item.model_dump(mode="json") for item in items]}
