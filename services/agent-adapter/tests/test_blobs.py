"""`LargeValues` with an in-memory object store: what goes out by reference, what comes in."""

from __future__ import annotations

from datetime import UTC, datetime

from pulse_agent_adapter.blobs import LargeValues
from pulse_agent_adapter.domain import TextRepeatTool, ToolContext, ToolRegistry
from pulse_broker import InMemoryBlobStore, load_blob
from pulse_contracts import DispatchTask, JsonValue, blob_digest, encode_blob

LIMIT = 1024


class EchoTool:
    name = "echo"
    description = "test tool"
    input_schema: dict[str, JsonValue] = {"type": "object"}

    async def run(self, input: dict[str, JsonValue], ctx: ToolContext) -> JsonValue:
        return dict(input)


def _task(tool: str, input: dict[str, JsonValue], **fields: object) -> DispatchTask:
    return DispatchTask.model_validate(
        {
            "message_id": "m",
            "run_id": "run-1",
            "tenant": "acme",
            "step_id": "s1",
            "attempt": 2,
            "tool": tool,
            "input": input,
            **fields,
        }
    )


def _large(store: InMemoryBlobStore) -> LargeValues:
    return LargeValues(store, LIMIT, clock=lambda: datetime(2026, 1, 1, tzinfo=UTC))


REGISTRY = ToolRegistry([TextRepeatTool(), EchoTool()])


async def test_an_output_at_the_limit_stays_inline() -> None:
    store = InMemoryBlobStore()
    # A JSON string of LIMIT bytes: the text and its two quotes.
    task = _task("text.repeat", {"text": "a", "times": LIMIT - 2})
    done = await _large(store).execute(REGISTRY, task, trace_id=None)
    assert done.output == "a" * (LIMIT - 2)
    assert done.output_ref is None
    assert store.objects == {}


async def test_an_output_above_the_limit_goes_to_the_store() -> None:
    store = InMemoryBlobStore()
    task = _task("text.repeat", {"text": "a", "times": LIMIT - 1})
    done = await _large(store).execute(REGISTRY, task, trace_id="t")
    assert (done.outcome, done.output) == ("succeeded", None)
    ref = done.output_ref
    assert ref is not None
    data = encode_blob("a" * (LIMIT - 1))
    assert (ref.size, ref.sha256) == (len(data), blob_digest(data))
    assert ref.key == f"run-1/s1/2/output/{ref.sha256}"
    assert store.objects == {ref.key: data}


async def test_referenced_inputs_are_read_before_the_tool_runs() -> None:
    store = InMemoryBlobStore()
    ref = await store.put_value("run-1/s0/1/output/x", {"rows": [1, 2]})
    task = _task("echo", {"big": None, "n": 1}, input_refs={"big": ref.model_dump()})
    done = await _large(store).execute(REGISTRY, task, trace_id=None)
    assert done.output == {"big": {"rows": [1, 2]}, "n": 1}


async def test_a_large_input_passed_through_is_stored_once_per_content() -> None:
    store = InMemoryBlobStore()
    ref = await store.put_value("run-1/s0/1/output/x", "b" * 2000)
    task = _task("text.repeat", {"text": None, "times": 1}, input_refs={"text": ref.model_dump()})
    done = await _large(store).execute(REGISTRY, task, trace_id=None)
    assert done.output_ref is not None
    assert done.output_ref.sha256 == ref.sha256
    assert await load_blob(store, done.output_ref) == "b" * 2000


async def test_an_input_that_is_gone_fails_the_step_without_running_it() -> None:
    store = InMemoryBlobStore()
    ref = await store.put_value("run-1/s0/1/output/x", "gone soon")
    store.objects.clear()
    task = _task("echo", {"big": None}, input_refs={"big": ref.model_dump()})
    done = await _large(store).execute(REGISTRY, task, trace_id="t")
    assert done.outcome == "failed"
    assert done.error is not None
    assert (done.error.code, done.error.run_id, done.error.step_id) == (
        "unresolved_reference",
        "run-1",
        "s1",
    )
    assert done.message_id == "run-1:s1:2:result"
    assert done.trace_id == "t"


async def test_a_failed_result_has_nothing_to_store() -> None:
    store = InMemoryBlobStore()
    done = await _large(store).execute(REGISTRY, _task("text.repeat", {}), trace_id=None)
    assert (done.outcome, done.output_ref) == ("failed", None)
