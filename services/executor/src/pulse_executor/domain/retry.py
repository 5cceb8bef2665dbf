"""Back-off between attempts: exponential, capped, with jitter that is the same every time.

The jitter comes from a hash of (run, step, attempt), not from a random generator: a
transition that is computed again — after a compare-and-set conflict, or for a redelivered
message — must schedule the very same retry, at the very same time, under the same id.
"""

from __future__ import annotations

import hashlib

from pulse_contracts import RetryPolicy

__all__ = ["jitter_fraction", "retry_delay_s"]


def jitter_fraction(run_id: str, step_id: str, attempt: int) -> float:
    """A number in [0, 1) fixed by its arguments and spread evenly across them."""
    digest = hashlib.sha256(f"{run_id}\x1f{step_id}\x1f{attempt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def retry_delay_s(
    policy: RetryPolicy, *, run_id: str, step_id: str, attempt: int, failed_attempts: int
) -> float:
    """Seconds to wait before `attempt`, after `failed_attempts` failures of the step.

    `policy.base_delay_s(failed_attempts)` spread by up to `±jitter` of itself.
    """
    base = policy.base_delay_s(failed_attempts)
    spread = policy.jitter * (2 * jitter_fraction(run_id, step_id, attempt) - 1)
    return max(0.0, base * (1 + spread))
