from __future__ import annotations

import pytest

from pulse_agent_adapter.domain import TextRepeatTool, ToolContext
from pulse_agent_adapter.domain.text import MAX_OUTPUT_BYTES
from pulse_contracts import ToolFailed


def _ctx() -> ToolContext:
    return ToolContext(run_id="r", step_id="s", tenant="t")


async def test_repeats_the_text() -> None:
    assert await TextRepeatTool().run({"text": "ab", "times": 3}, _ctx()) == "ababab"


async def test_refuses_a_result_above_the_limit_before_building_it() -> None:
    with pytest.raises(ToolFailed, match="limit") as caught:
        await TextRepeatTool().run({"text": "é", "times": MAX_OUTPUT_BYTES // 2 + 1}, _ctx())
    assert caught.value.step_id == "s"


@pytest.mark.parametrize("bad", [{"text": "", "times": 2}, {"text": "a", "times": 0}, {}])
async def test_refuses_bad_input(bad: dict[str, object]) -> None:
    with pytest.raises(ToolFailed, match="invalid input"):
        await TextRepeatTool().run(bad, _ctx())  # type: ignore[arg-type]
