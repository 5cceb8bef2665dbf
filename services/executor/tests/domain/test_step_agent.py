"""Who ran an attempt (`TaskFinished.agent`) reaches the step's event, for `pulse trace`."""

from __future__ import annotations

from pulse_contracts import StepCompleted, StepFailedEvent
from pulse_executor.domain import record_result, start_run


def test_the_agent_of_a_result_is_in_the_steps_event(msgs) -> None:
    plan = msgs.plan({"id": "a"}, {"id": "b"})
    state = start_run(None, msgs.plan_created(plan), now=msgs.now()).state
    done = msgs.finished("a", 1).model_copy(update={"agent": "offline/offline-echo"})
    t = record_result(state, done, now=msgs.now(1))
    [completed] = [e for e in t.effects if isinstance(e, StepCompleted)]
    assert completed.agent == "offline/offline-echo"
    assert t.state is not None
    assert t.state.steps["a"].agent == "offline/offline-echo"

    failed = msgs.finished("b", error="boom").model_copy(update={"agent": "default"})
    t = record_result(t.state, failed, now=msgs.now(2))
    [event] = [e for e in t.effects if isinstance(e, StepFailedEvent)]
    assert event.agent == "default"


def test_a_result_without_an_agent_leaves_it_unset(msgs) -> None:
    state = start_run(None, msgs.plan_created(msgs.plan({"id": "a"})), now=msgs.now()).state
    t = record_result(state, msgs.finished("a", 1), now=msgs.now(1))
    [completed] = [e for e in t.effects if isinstance(e, StepCompleted)]
    assert completed.agent is None
