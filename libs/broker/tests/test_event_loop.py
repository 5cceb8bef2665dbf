"""Every service's event loop: uvloop, a dependency of pulse-broker, when it is installed."""

from __future__ import annotations

import importlib.util

from pulse_broker.asgi import event_loop


def test_services_run_on_uvloop_when_it_is_installed() -> None:
    installed = importlib.util.find_spec("uvloop") is not None
    assert event_loop() == ("uvloop" if installed else "asyncio")
    assert installed, "uvloop is a dependency of pulse-broker: reinstall the package"
