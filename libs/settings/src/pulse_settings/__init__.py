"""pulse-settings: configuration shared by every service, read from `PULSE_*` variables.

Each service subclasses `ServiceSettings` in its own `config.py`; nothing else in Pulse
reads the environment.
"""

from pulse_settings.base import LogFormat, ServiceSettings

__all__ = ["LogFormat", "ServiceSettings"]
