"""`dramatiq tasks` in a fresh interpreter must know every actor the system sends to."""

import json
import subprocess
import sys

from tests.conftest import PROJECT_ROOT


def test_the_worker_command_declares_every_actor_the_system_sends(system):
    from tasks.scheduler import JOBS

    fresh = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, tasks; from tasks.broker import broker; "
            "print(json.dumps(sorted(broker.get_declared_actors())))",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    declared_by_worker = set(json.loads(fresh.stdout.strip().splitlines()[-1]))
    scheduled = {actor.actor_name for actor, _period in JOBS}
    assert scheduled <= declared_by_worker
    assert system["broker"].get_declared_actors() <= declared_by_worker
