from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pulse_agent_adapter.adapters import InMemoryTodoStore
from pulse_agent_adapter.domain import TodoAddTool, TodoListTool, ToolContext, todo_id
from pulse_contracts import JsonValue, ToolFailed

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def ctx(run_id: str = "run-1", step_id: str = "add", tenant: str = "acme") -> ToolContext:
    return ToolContext(run_id=run_id, step_id=step_id, tenant=tenant)


@pytest.fixture
def store() -> InMemoryTodoStore:
    return InMemoryTodoStore()


async def test_add_returns_the_item_with_a_deterministic_id(store: InMemoryTodoStore) -> None:
    item = await TodoAddTool(store, clock=lambda: T0).run({"text": "buy milk"}, ctx())
    assert item == {
        "id": "run-1:add",
        "text": "buy milk",
        "run_id": "run-1",
        "step_id": "add",
        "created_at": "2026-01-02T03:04:05Z",
    }
    assert todo_id("run-1", "add") == "run-1:add"


@pytest.mark.parametrize(
    ("text", "stored"),
    [(15, "15"), (2.5, "2.5"), (True, "true"), (False, "false"), ("  15 ", "15")],
)
async def test_any_json_scalar_becomes_text(
    store: InMemoryTodoStore, text: JsonValue, stored: str
) -> None:
    item = await TodoAddTool(store).run({"text": text}, ctx())
    assert isinstance(item, dict)
    assert item["text"] == stored


@pytest.mark.parametrize(
    "bad_input",
    [
        {},
        {"text": None},
        {"text": ""},
        {"text": "   "},
        {"text": [1]},
        {"text": {"a": 1}},
        {"text": "x" * 2001},
        {"text": "a", "due": "tomorrow"},
    ],
)
async def test_add_rejects_bad_input(
    store: InMemoryTodoStore, bad_input: dict[str, JsonValue]
) -> None:
    with pytest.raises(ToolFailed, match="invalid input"):
        await TodoAddTool(store).run(bad_input, ctx())
    assert await store.list("acme") == []


async def test_running_the_same_step_again_adds_nothing(store: InMemoryTodoStore) -> None:
    add = TodoAddTool(store)
    first = await add.run({"text": "15"}, ctx())
    again = await add.run({"text": "something else"}, ctx())
    assert again == first
    listed = await TodoListTool(store).run({}, ctx())
    assert listed == {"todos": [first]}


async def test_list_holds_every_step_in_order(store: InMemoryTodoStore) -> None:
    add = TodoAddTool(store)
    await add.run({"text": 15}, ctx(step_id="a"))
    await add.run({"text": "second"}, ctx(step_id="b"))
    await add.run({"text": "third"}, ctx(run_id="run-2", step_id="a"))
    listed = await TodoListTool(store).run({}, ctx())
    assert isinstance(listed, dict)
    todos = listed["todos"]
    assert isinstance(todos, list)
    assert [t["text"] for t in todos if isinstance(t, dict)] == ["15", "second", "third"]
    assert [t["id"] for t in todos if isinstance(t, dict)] == ["run-1:a", "run-1:b", "run-2:a"]


async def test_tenants_see_only_their_own_todos(store: InMemoryTodoStore) -> None:
    add, list_todos = TodoAddTool(store), TodoListTool(store)
    await add.run({"text": "acme's"}, ctx(tenant="acme"))
    # Same run and step ids under another tenant: a different todo, not a duplicate.
    await add.run({"text": "globex's"}, ctx(tenant="globex"))
    acme_view = await list_todos.run({}, ctx(tenant="acme"))
    assert isinstance(acme_view, dict)
    [only] = await store.list("acme")
    assert acme_view == {"todos": [only.model_dump(mode="json")]}
    acme = await store.list("acme")
    globex = await store.list("globex")
    assert [t.text for t in acme] == ["acme's"]
    assert [t.text for t in globex] == ["globex's"]
    assert await list_todos.run({}, ctx(tenant="initech")) == {"todos": []}


async def test_a_full_list_is_a_tool_failure() -> None:
    store = InMemoryTodoStore(max_items=2)
    add = TodoAddTool(store)
    await add.run({"text": "1"}, ctx(step_id="a"))
    await add.run({"text": "2"}, ctx(step_id="b"))
    with pytest.raises(ToolFailed, match="is full"):
        await add.run({"text": "3"}, ctx(step_id="c"))
    # Re-running a step whose todo is already there still succeeds.
    assert (await add.run({"text": "1"}, ctx(step_id="a")))["id"] == "run-1:a"  # type: ignore[index,call-overload]


async def test_list_rejects_unexpected_input(store: InMemoryTodoStore) -> None:
    with pytest.raises(ToolFailed, match="invalid input"):
        await TodoListTool(store).run({"tenant": "someone-else"}, ctx())
