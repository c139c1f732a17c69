"""Periodic jobs are never retried nor dead-lettered: a failed run is logged at ERROR and the
scheduler's next tick runs the job again. A real worker runs a job declared the way the
sweeper, reconciliation and the alarm check are."""

from __future__ import annotations

import pytest

from messaging.contract import ActorSpec
from tasks.broker import DECLARED
from tasks.periodic import periodic_job
from tests.conftest import captured_logs, wait_for


@pytest.fixture
def flaky_job(system):
    """A periodic job whose first run fails (as a database blip would make the sweeper fail)
    and whose later runs succeed; `runs` records each run."""
    runs: list[str] = []

    def flaky_periodic_job(services) -> None:
        runs.append("failed" if not runs else "ok")
        if runs[-1] == "failed":
            raise RuntimeError("connection to the database was lost")

    spec = ActorSpec("flaky_periodic_job", "maintenance", "none")
    periodic_job(spec)(flaky_periodic_job)
    actor = system["worker"].declare(DECLARED.pop(spec.name))
    yield actor, runs
    del system["broker"].actors[actor.actor_name]


def dead_letters(broker, queue_name: str = "maintenance") -> int:
    return broker.client.zcard(f"{broker.namespace}:{queue_name}.XQ")


def test_a_failed_run_is_logged_once_and_the_next_tick_runs_it_again(flaky_job, worker, system):
    broker = system["broker"]
    actor, runs = flaky_job
    with captured_logs() as lines:
        actor.send()
        wait_for(lambda: runs == ["failed"], message="the first run")
        broker.join("maintenance", timeout=10_000)
    assert runs == ["failed"]  # not retried
    assert dead_letters(broker) == 0
    assert broker.client.llen(f"{broker.namespace}:maintenance") == 0
    errors = [line for line in lines if "ERROR" in line and "flaky_periodic_job" in line]
    assert len(errors) == 1 and "the next tick retries it" in errors[0]
    assert "connection to the database was lost" in "".join(lines)

    actor.send()  # the scheduler's next tick
    wait_for(lambda: runs == ["failed", "ok"], message="the next tick's run")
    broker.join("maintenance", timeout=10_000)
    assert dead_letters(broker) == 0


@pytest.mark.parametrize("job", ["sweep", "reconcile", "check_alarms"])
def test_the_scheduled_jobs_are_declared_as_periodic_jobs(system, job):
    """Each job the scheduler sends goes through the same wrapper as the job above."""
    from messaging.contract import PERIODIC_JOBS

    assert job in {spec.name for spec, _ in PERIODIC_JOBS}
    actor = system["broker"].get_actor(job)
    assert actor.queue_name == "maintenance" and actor.options["max_retries"] == 0
    wrappers = []
    function = actor.fn
    while hasattr(function, "__wrapped__"):
        wrappers.append(function.__code__.co_name)
        function = function.__wrapped__
    assert "run_once" in wrappers and function.__name__ == job
