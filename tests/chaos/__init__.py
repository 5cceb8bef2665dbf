"""Chaos suite: the invariants of DESIGN.md under SIGKILLed services and restarted servers.

A package, so the test modules can share `workload` and `audit` under importlib imports.
"""
