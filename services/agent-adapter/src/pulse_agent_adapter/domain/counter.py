"""The `counter.increment` tool: a side effect that happens once per step, however often
the step runs.

Delivery is at-least-once: a crash after the effect and before the result is published
makes the step run again. The increment is therefore recorded under an effect id,
`<run_id>:<step_id>`, in the counter's document; a step that runs again finds its effect
there and reports the count it produced the first time. Executions are counted apart from
effects, so the gap between the two shows how many runs were repeats.
"""

from __future__ import annotations

from typing import Final, Protocol

from pydantic import BaseModel, ConfigDict, Field

from pulse_agent_adapter.domain.tools import ToolContext, parse_input
from pulse_contracts import JsonValue

__all__ = [
    "COUNTER_KEY_PATTERN",
    "MAX_COUNTER_EFFECTS",
    "Counter",
    "CounterFullError",
    "CounterIncrementInput",
    "CounterIncrementTool",
    "CounterStore",
    "Increment",
    "effect_id",
]

COUNTER_KEY_PATTERN: Final = r"^[a-z0-9_-]{1,64}$"
"""Counter keys are KV key tokens too, so no dots, spaces or wildcards."""

MAX_COUNTER_EFFECTS: Final = 10_000
"""Effects one counter keeps; each is remembered forever, which keeps the document small."""


def effect_id(run_id: str, step_id: str) -> str:
    """The id a step's increment is recorded under: the same every time that step runs."""
    return f"{run_id}:{step_id}"


class CounterFullError(Exception):
    """The counter holds as many effects as it may."""


class Increment(BaseModel):
    """What one execution of an increment found or did."""

    model_config = ConfigDict(frozen=True)

    count: int = Field(ge=1, description="The counter's value once this effect was counted.")
    repeated: bool = Field(description="The effect was recorded by an earlier execution.")


class Counter(BaseModel):
    """One tenant's counter: every effect counted (with the count it produced) and how many
    times any step executed against it. One document, so one compare-and-set records both."""

    tenant: str
    key: str
    effects: dict[str, int] = Field(default_factory=dict)
    executions: int = Field(default=0, ge=0)

    @property
    def count(self) -> int:
        return len(self.effects)

    def executing(
        self, effect: str, *, max_effects: int = MAX_COUNTER_EFFECTS
    ) -> tuple[Counter, Increment]:
        """This counter after one more execution of the step behind `effect`, and what that
        execution reports.

        Raises `CounterFullError` when `effect` is new and the counter is at its limit.
        """
        effects = self.effects
        repeated = effect in effects
        if not repeated:
            if len(effects) >= max_effects:
                raise CounterFullError(
                    f"counter {self.key!r} of tenant {self.tenant!r} is full ({max_effects})"
                )
            effects = {**effects, effect: len(effects) + 1}
        after = Counter(
            tenant=self.tenant, key=self.key, effects=effects, executions=self.executions + 1
        )
        return after, Increment(count=effects[effect], repeated=repeated)


class CounterStore(Protocol):
    """Where each tenant's counters live."""

    async def increment(self, tenant: str, key: str, effect: str) -> Increment:
        """Count one execution; count the effect too unless it was counted before.

        Raises `CounterFullError` when a new effect does not fit.
        """
        ...

    async def read(self, tenant: str, key: str) -> Counter | None:
        """The counter as stored, or None when nothing was ever counted under `key`."""
        ...


class CounterIncrementInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(
        pattern=COUNTER_KEY_PATTERN,
        description="Which counter: lower-case letters, digits, '_' and '-'.",
    )


class CounterIncrementTool:
    name = "counter.increment"
    description = (
        "Add one to the tenant's counter `key` and return {key, count, effect_id}. The effect "
        "happens once per step: running the same step again returns the count it produced."
    )

    def __init__(self, store: CounterStore) -> None:
        self._store = store

    @property
    def input_schema(self) -> dict[str, JsonValue]:
        return CounterIncrementInput.model_json_schema()

    async def run(self, input: dict[str, JsonValue], ctx: ToolContext) -> JsonValue:
        args = parse_input(CounterIncrementInput, input, ctx)
        effect = effect_id(ctx.run_id, ctx.step_id)
        try:
            done = await self._store.increment(ctx.tenant, args.key, effect)
        except CounterFullError as exc:
            raise ctx.failure(str(exc)) from None
        return {"key": args.key, "count": done.count, "effect_id": effect}
