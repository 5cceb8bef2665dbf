"""The counting tool over the in-memory store: one effect per step, every execution counted."""

from __future__ import annotations

import pytest

from pulse_agent_adapter.adapters import InMemoryCounterStore
from pulse_agent_adapter.domain import (
    Counter,
    CounterFullError,
    CounterIncrementTool,
    Increment,
    ToolContext,
    effect_id,
)
from pulse_contracts import JsonValue, ToolFailed


def ctx(run_id: str = "run-1", step_id: str = "s1", tenant: str = "acme") -> ToolContext:
    return ToolContext(run_id=run_id, step_id=step_id, tenant=tenant)


@pytest.fixture
def store() -> InMemoryCounterStore:
    return InMemoryCounterStore()


async def test_increment_returns_key_count_and_effect_id(store: InMemoryCounterStore) -> None:
    tool = CounterIncrementTool(store)
    assert await tool.run({"key": "apples"}, ctx()) == {
        "key": "apples",
        "count": 1,
        "effect_id": "run-1:s1",
    }
    assert await tool.run({"key": "apples"}, ctx(step_id="s2")) == {
        "key": "apples",
        "count": 2,
        "effect_id": "run-1:s2",
    }
    assert effect_id("run-1", "s2") == "run-1:s2"


async def test_running_a_step_again_counts_the_execution_not_the_effect(
    store: InMemoryCounterStore,
) -> None:
    tool = CounterIncrementTool(store)
    first = await tool.run({"key": "apples"}, ctx())
    await tool.run({"key": "apples"}, ctx(step_id="s2"))
    again = await tool.run({"key": "apples"}, ctx())
    # The repeat reports what the first execution reported.
    assert again == first
    counter = await store.read("acme", "apples")
    assert counter is not None
    assert (counter.count, counter.executions) == (2, 3)
    assert counter.effects == {"run-1:s1": 1, "run-1:s2": 2}


async def test_keys_and_tenants_are_separate_counters(store: InMemoryCounterStore) -> None:
    tool = CounterIncrementTool(store)
    await tool.run({"key": "apples"}, ctx())
    await tool.run({"key": "pears"}, ctx())
    # The same run and step under another tenant is another tenant's effect.
    await tool.run({"key": "apples"}, ctx(tenant="globex"))
    for tenant, key in (("acme", "apples"), ("acme", "pears"), ("globex", "apples")):
        counter = await store.read(tenant, key)
        assert counter is not None
        assert counter.count == 1
    assert await store.read("initech", "apples") is None


@pytest.mark.parametrize(
    "bad_input",
    [
        {},
        {"key": ""},
        {"key": "Apples"},
        {"key": "a.b"},
        {"key": "a b"},
        {"key": 3},
        {"key": "k" * 65},
        {"key": "a", "by": 2},
    ],
)
async def test_bad_keys_are_refused(
    store: InMemoryCounterStore, bad_input: dict[str, JsonValue]
) -> None:
    with pytest.raises(ToolFailed, match="invalid input"):
        await CounterIncrementTool(store).run(bad_input, ctx())


async def test_a_full_counter_is_a_tool_failure_but_repeats_still_answer() -> None:
    store = InMemoryCounterStore(max_effects=1)
    tool = CounterIncrementTool(store)
    first = await tool.run({"key": "apples"}, ctx())
    with pytest.raises(ToolFailed, match="is full"):
        await tool.run({"key": "apples"}, ctx(step_id="s2"))
    assert await tool.run({"key": "apples"}, ctx()) == first


def test_executing_is_pure() -> None:
    empty = Counter(tenant="acme", key="k")
    after, done = empty.executing("r:s1")
    assert done == Increment(count=1, repeated=False)
    assert (empty.count, empty.executions) == (0, 0)
    again, repeat = after.executing("r:s1")
    assert repeat == Increment(count=1, repeated=True)
    assert (again.count, again.executions) == (1, 2)
    with pytest.raises(CounterFullError):
        after.executing("r:s2", max_effects=1)


def test_the_tool_describes_its_input() -> None:
    tool = CounterIncrementTool(InMemoryCounterStore())
    assert tool.name == "counter.increment"
    schema = tool.input_schema
    assert schema["type"] == "object"
    assert schema["required"] == ["key"]
