"""The deployment templates keep what the README promises: a path nginx restricts stays
restricted in every spelling the app answers, the workers' metrics are not public, the files
parse, the units run commands that exist, and no step relies on a folder nothing creates."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

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
    covered = {
        path
        for path in ("/metrics", "/health")
        for _, pattern in restricted
        if re.search(pattern, path)
    }
    assert covered == {"/metrics", "/health"}, "the site restricts /metrics and the full /health"
    for modifier, pattern in restricted:
        # An exact or prefix location misses `/metrics/`, which the app also answers.
        assert modifier == "~", (modifier, pattern)
        path = "/metrics" if re.search(pattern, "/metrics") else "/health"
        assert re.search(pattern, path) and re.search(pattern, path + "/"), pattern
        assert not re.search(pattern, path + "x") and not re.search(pattern, "/x" + path)
        assert not re.search(pattern, "/health/live") and not re.search(pattern, "/health/ready")


def test_the_workers_metrics_exporter_listens_on_localhost_only():
    unit = (DEPLOY / "systemd" / "bfa-worker.service").read_text()
    environment = " ".join(re.findall(r"^Environment=(.*)$", unit, re.MULTILINE)).split()
    assert "dramatiq_prom_host=127.0.0.1" in environment
    readme = (DEPLOY / "README.md").read_text()
    assert "Two worker services on one host" in readme and "dramatiq_prom_port" in readme


# --- The templates parse, name what exists, and every step they rely on is in the README ---

SITE_ROOT = "/srv/bfa/current/"  # where the README installs the release systemd runs
_NGINX_TOKEN = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|[{};]|[^\s{};]+')


def nginx_directives(text: str) -> list[tuple[list[str], list | None]]:
    """(words, block or None) for each directive; raises ValueError where nginx would refuse."""
    lines = [re.sub(r"(^|\s)#.*$", "", line) for line in text.splitlines()]
    tokens = _NGINX_TOKEN.findall("\n".join(lines))
    stack: list[list] = [[]]
    words: list[str] = []
    for token in tokens:
        if token == ";":
            if not words:
                raise ValueError("an empty directive")
            stack[-1].append((words, None))
            words = []
        elif token == "{":
            if not words:
                raise ValueError("a block without a name")
            block: list = []
            stack[-1].append((words, block))
            stack.append(block)
            words = []
        elif token == "}":
            if words or len(stack) == 1:
                raise ValueError(f"unexpected }} after {words}")
            stack.pop()
        else:
            words.append(token)
    if words or len(stack) != 1:
        raise ValueError("unterminated directive or block at the end")
    return stack[0]


def walk(directives: list) -> list[list[str]]:
    found = []
    for words, block in directives:
        found.append(words)
        found.extend(walk(block or []))
    return found


def systemd_unit(path) -> dict[str, list[tuple[str, str]]]:
    """Sections of a unit file as (key, value) lists; raises ValueError on a malformed line."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = None
    text = re.sub(r"\\\n", " ", path.read_text())  # continuation lines
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if re.fullmatch(r"\[[A-Za-z]+\]", line):
            current = sections.setdefault(line[1:-1], [])
        elif current is not None and re.match(r"[A-Za-z]+=", line):
            key, _, value = line.partition("=")
            current.append((key, value))
        else:
            raise ValueError(f"{path.name}:{number}: {line}")
    return sections


def values(unit: dict, section: str, key: str) -> list[str]:
    return [value for name, value in unit.get(section, []) if name == key]


def readme() -> str:
    return (DEPLOY / "README.md").read_text()


def created_by_a_step(path: str) -> bool:
    """A README step makes this folder (mkdir/install -d) or one of its parents' parents."""
    steps = [line for line in readme().splitlines() if re.search(r"mkdir|install -d", line)]
    return any(re.search(rf"{re.escape(path)}(\s|$)", step) for step in steps)


def run_sh_parts() -> set[str]:
    """The parts `run.sh` documents in the operating guide's command table."""
    operating = (PROJECT_ROOT / "docs" / "operating.md").read_text()
    return set(re.findall(r"^\| `\./run\.sh (\w+)", operating, re.MULTILINE))


def test_the_nginx_files_parse_and_include_only_what_is_shipped():
    site = nginx_directives((DEPLOY / "nginx" / "bfa.conf").read_text())
    snippet = nginx_directives((DEPLOY / "nginx" / "bfa-proxy.conf").read_text())
    assert all(block is None for _, block in snippet), "a snippet of plain directives"
    everything = walk(site)
    included = {words[1] for words in everything if words[0] == "include"}
    assert included == {"/etc/nginx/snippets/bfa-proxy.conf"}
    assert ["proxy_pass", "http://bfa_web"] in walk(snippet)
    assert ["upstream", "bfa_web"] in everything
    assert all(block is not None for words, block in site if words[0] in ("server", "upstream"))


def test_the_nginx_parser_refuses_what_nginx_refuses():
    for broken in ("server { listen 80 }", "server { listen 80; ", "listen 80; }", "x"):
        try:
            nginx_directives(broken)
        except ValueError:
            continue
        raise AssertionError(f"accepted {broken!r}")


def test_every_unit_parses_and_runs_a_command_that_exists():
    parts = run_sh_parts()
    assert {"web", "worker", "scheduler", "migrate", "admin"} <= parts
    services = sorted((DEPLOY / "systemd").glob("*.service"))
    assert len(services) == 5
    for path in services:
        unit = systemd_unit(path)
        assert values(unit, "Service", "User") == ["bfa"], path.name
        assert values(unit, "Service", "WorkingDirectory") == [SITE_ROOT.rstrip("/")]
        commands = [
            value
            for key, value in unit["Service"]
            if key in ("ExecStart", "ExecStartPre", "ExecStartPost")
        ]
        assert commands and values(unit, "Service", "ExecStart"), path.name
        for command in commands:
            assert_runs_something_that_exists(command.lstrip("-@:+!").split(), parts)


def assert_runs_something_that_exists(words: list[str], parts: set[str]) -> None:
    executable, *arguments = words
    if not executable.startswith(SITE_ROOT):
        assert executable.startswith("/") and os.access(executable, os.X_OK), executable
        return
    shipped = PROJECT_ROOT / executable.removeprefix(SITE_ROOT)
    assert shipped.name == "run.sh" and os.access(shipped, os.X_OK), executable
    part, *rest = arguments
    assert part in parts, words
    if part == "admin":
        build_admin_parser().parse_args(rest)  # exits (fails the test) on an unknown option
    elif part == "worker":
        dramatiq_parser().parse_args(["tasks.worker", *rest])
    else:
        assert not rest, words


def build_admin_parser():
    from admin.cli import build_parser

    return build_parser()


def dramatiq_parser():
    from dramatiq.cli import make_argument_parser

    return make_argument_parser()


def test_the_target_wants_units_that_are_shipped():
    unit = systemd_unit(DEPLOY / "systemd" / "bfa.target")
    wanted = " ".join(values(unit, "Unit", "Wants")).split()
    assert wanted
    for name in wanted:
        template = re.sub(r"@[^.]+\.", "@.", name)
        assert (DEPLOY / "systemd" / template).is_file(), name


def test_the_backup_runs_at_half_past_two_in_jakarta():
    unit = systemd_unit(DEPLOY / "systemd" / "bfa-backup.timer")
    (calendar,) = values(unit, "Timer", "OnCalendar")
    assert calendar == "*-*-* 02:30:00 Asia/Jakarta"
    assert (DEPLOY / "systemd" / "bfa-backup.service").is_file()
    analyze = shutil.which("systemd-analyze")
    if analyze:  # systemd itself agrees the expression is valid
        checked = subprocess.run([analyze, "calendar", calendar], capture_output=True, text=True)
        assert checked.returncode == 0 and "Asia/Jakarta" in checked.stdout, checked.stderr


def test_the_restore_drill_runs_weekly_after_the_nightly_backup():
    unit = systemd_unit(DEPLOY / "systemd" / "bfa-drill.timer")
    (calendar,) = values(unit, "Timer", "OnCalendar")
    assert calendar == "Sun *-*-* 04:00:00 Asia/Jakarta"
    service = systemd_unit(DEPLOY / "systemd" / "bfa-drill.service")
    (start,) = values(service, "Service", "ExecStart")
    assert start.endswith("run.sh admin drill")
    analyze = shutil.which("systemd-analyze")
    if analyze:
        checked = subprocess.run([analyze, "calendar", calendar], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr


def test_the_backup_folder_is_made_by_a_step_and_pruned_where_it_is_written():
    unit = systemd_unit(DEPLOY / "systemd" / "bfa-backup.service")
    (start,) = values(unit, "Service", "ExecStart")
    (prune,) = values(unit, "Service", "ExecStartPost")
    folder = start.split("--dir ")[1].split()[0]
    assert prune.split()[:2] == ["/usr/bin/find", folder] and "-mtime +14" in prune
    assert created_by_a_step(folder)


def test_no_archive_folder_that_nothing_creates():
    settings = dict(
        (name.strip(), value.split("#")[0].strip().strip("'"))
        for name, _, value in (
            line.partition("=")
            for line in (DEPLOY / "postgresql" / "postgresql.conf").read_text().splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        )
    )
    if settings.get("archive_mode", "off") == "off":
        assert "archive_command" not in settings
        return
    folders = re.findall(r"(/[\w./-]+)/%f", settings["archive_command"])
    assert folders, "archiving goes through a tool that manages its own repository"
    assert all(created_by_a_step(folder) for folder in folders), folders


def test_certbot_reloads_nginx_after_each_renewal():
    hook = DEPLOY / "certbot" / "reload-nginx"
    assert os.access(hook, os.X_OK)
    assert subprocess.run(["sh", "-n", str(hook)]).returncode == 0
    assert re.search(r"^systemctl reload nginx$", hook.read_text(), re.MULTILINE)
    assert "deploy/certbot/reload-nginx /etc/letsencrypt/renewal-hooks/deploy/" in readme()


def test_the_install_steps_use_packages_every_supported_release_has():
    text = readme()
    assert all(name in text for name in ("Debian 12", "Debian 13", "Ubuntu 24.04"))
    installs = re.findall(r"^sudo apt install (.*)$", text, re.MULTILINE)
    assert installs and not any(re.search(r"postgresql(-client)?-\d", line) for line in installs)
    assert "/etc/postgresql/16/" not in text


def https_server() -> list:
    site = nginx_directives((DEPLOY / "nginx" / "bfa.conf").read_text())
    (server,) = [block for words, block in site if words == ["server"] and "ssl" in str(block)]
    return server


def test_with_both_web_instances_down_nginx_shows_a_shipped_indonesian_page():
    server = https_server()
    (error_page,) = [words for words, _ in server if words[0] == "error_page"]
    assert error_page[1:4] == ["502", "503", "504"] and error_page[4].startswith("/")
    uri = error_page[4]  # without "=code": Midtrans still sees the failure and retries
    (location,) = [block for words, block in server if words == ["location", "=", uri]]
    (root,) = [words[1] for words, _ in location if words[0] == "root"]
    assert ["internal"] in [words for words, _ in location]
    shipped = DEPLOY / "nginx" / uri.lstrip("/")
    page = shipped.read_text()
    assert '<html lang="id">' in page and "gangguan" in page
    assert "Pembayaran Anda tetap aman" in page
    # The instances that serve /static/ are the ones that are down: nothing may come from them.
    assert not re.search(r'(src|href)="/static|<link[^>]+stylesheet|<script', page)
    install_step = f"deploy/nginx/{shipped.name} {root}/{shipped.name}"
    assert re.search(rf"install -D [^\n]*{re.escape(install_step)}", readme())
    assert ["proxy_intercept_errors", "on"] not in walk(server), "the app's own 503s pass"


_REDIS_WITHOUT_IPV6 = """
ip link set lo up
echo 1 > /proc/sys/net/ipv6/conf/lo/disable_ipv6
redis-server "$1" --port 6390 --dir "$2" --daemonize no --save "" --logfile "$2/redis.log" &
for _ in $(seq 50); do redis-cli -p 6390 ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
redis-cli -p 6390 ping
redis-cli -p 6390 shutdown nosave >/dev/null 2>&1
wait
"""


def test_redis_starts_with_the_shipped_settings_where_ipv6_loopback_is_off(tmp_path):
    """Debian binds `127.0.0.1 -::1`: the dash makes ::1 optional. Without it Redis refuses to
    start on a host whose IPv6 loopback is off."""
    if not (shutil.which("redis-server") and shutil.which("unshare") and shutil.which("ip")):
        pytest.skip("needs redis-server, unshare and ip")
    probe = subprocess.run(["unshare", "-rn", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("this machine refuses a private network namespace")
    config = DEPLOY / "redis" / "redis.conf"
    script = ["unshare", "-rn", "sh", "-c", _REDIS_WITHOUT_IPV6, "sh", str(config), str(tmp_path)]
    result = subprocess.run(script, capture_output=True, text=True, timeout=30)
    log = (tmp_path / "redis.log").read_text() if (tmp_path / "redis.log").exists() else ""
    assert "PONG" in result.stdout, log + result.stderr
