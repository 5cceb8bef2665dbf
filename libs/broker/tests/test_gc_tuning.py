"""The garbage collector every service sets before serving (`pulse_broker.gc_tuning`)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from pulse_broker.gc_tuning import tune_garbage_collector
from pulse_settings import ServiceSettings


@pytest.fixture
def restored_collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_collector")
def test_start_up_objects_are_frozen_and_the_young_generation_is_larger() -> None:
    _, older, oldest = gc.get_threshold()
    alive_at_start: list[int] = [1]  # a container: tracked by the collector
    assert any(obj is alive_at_start for obj in gc.get_objects())
    tune_garbage_collector(ServiceSettings().gc_young_threshold)
    assert gc.get_threshold() == (20_000, older, oldest)
    assert gc.get_freeze_count() > 0
    # Frozen objects are out of every later collection's walk.
    assert not any(obj is alive_at_start for obj in gc.get_objects())


@pytest.mark.usefixtures("restored_collector")
def test_zero_leaves_cpythons_collector_alone() -> None:
    before = gc.get_threshold()
    tune_garbage_collector(0)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
