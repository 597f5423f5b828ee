"""The store's stateful property test (tests/store_machine.py) on the memory store."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

from tests.store_machine import StoreMachine

TestMemoryStore = StoreMachine.TestCase
TestMemoryStore.settings = settings(
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
