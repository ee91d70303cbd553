"""RayExecutor on a real local Ray: a finished trial is handed back at once, not after the others."""

from __future__ import annotations

import time

import pytest

from dse.driver.executor import Handle, RayExecutor


@pytest.fixture(scope="module")
def executor():
    ex = RayExecutor(address=None, cpus_per_trial=1, num_cpus=2)
    yield ex
    ex.ray.shutdown()


def test_wait_returns_the_first_finished_trial_without_waiting_for_the_rest(executor) -> None:
    ray = executor.ray

    @ray.remote(num_cpus=0)
    def nap(seconds: float) -> float:
        time.sleep(seconds)
        return seconds

    slow, fast = Handle(nap.remote(60.0), None), Handle(nap.remote(0.1), None)
    ray.get(fast.ref)  # finished for sure
    t0 = time.perf_counter()
    ready = executor.wait([slow, fast], timeout=30.0)
    waited = time.perf_counter() - t0
    assert ready == [fast]
    assert waited < 15.0, f"waited {waited:.1f} s for a trial that had finished"  # was: the full timeout
    both = [Handle(nap.remote(0.0), None), Handle(nap.remote(0.0), None)]
    ray.get([h.ref for h in both])
    assert executor.wait(both, timeout=30.0) == both  # everything that is ready comes back in one call
    assert executor.wait([], timeout=1.0) == []
    ray.cancel(slow.ref, force=True)
