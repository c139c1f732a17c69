"""The deployment templates keep what the README promises: a path nginx restricts stays
restricted in every spelling the app answers, and the workers' metrics are not public."""

from __future__ import annotations

import re

from tests.conftest import PROJECT_ROOT

DEPLOY = PROJECT_ROOT / "deploy"
_LOCATION = re.compile(r"location\s+(=|~\*?|\^~)?\s*(\S+)\s*\{([^}]*)\}")


def restricted_locations(server_block: str) -> list[tuple[str, str]]:
    """(modifier, pattern) of every location that denies someone."""
    return [
        (modifier, pattern)
        for modifier, pattern, body in _LOCATION.findall(server_block)
        if "deny all" in body
    ]


def test_every_restricted_path_is_restricted_with_and_without_a_trailing_slash():
    site = (DEPLOY / "nginx" / "bfa.conf").read_text()
    restricted = restricted_locations(site)
    assert restricted, "the site restricts /metrics"
    for modifier, pattern in restricted:
        # An exact or prefix location misses `/metrics/`, which the app also answers.
        assert modifier == "~", (modifier, pattern)
        assert re.search(pattern, "/metrics") and re.search(pattern, "/metrics/"), pattern
        assert not re.search(pattern, "/metricsx") and not re.search(pattern, "/x/metrics")


def test_the_workers_metrics_exporter_listens_on_localhost_only():
    unit = (DEPLOY / "systemd" / "bfa-worker.service").read_text()
    environment = " ".join(re.findall(r"^Environment=(.*)$", unit, re.MULTILINE)).split()
    assert "dramatiq_prom_host=127.0.0.1" in environment
    readme = (DEPLOY / "README.md").read_text()
    assert "Two worker services on one host" in readme and "dramatiq_prom_port" in readme
