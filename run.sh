#!/usr/bin/env bash
# The one entry point: installs what is missing, then runs the part asked for.
#   ./run.sh                 everything (embedded PostgreSQL/Redis and sandbox when unconfigured)
#   ./run.sh test [args]     lint + the whole test suite (args go to pytest)
#   ./run.sh chaos [args]    the hostile-world run (./run.sh chaos --help)
#   ./run.sh web | worker [dramatiq args] | scheduler | migrate | sandbox | admin ...
set -euo pipefail
cd "$(dirname "$0")"

VENV=.venv
STAMP="$VENV/.requirements.sha256"

find_python() {
    for candidate in python3.13 python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return
        fi
    done
    echo "Python 3.11 or newer is required" >&2
    exit 1
}

ensure_installed() {
    local wanted
    wanted=$(sha256sum requirements.txt | cut -d' ' -f1)
    if [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "$wanted" ]]; then
        return
    fi
    echo "Installing dependencies into $VENV ..." >&2
    [[ -x "$VENV/bin/python" ]] || "$(find_python)" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements.txt
    echo "$wanted" >"$STAMP"
}

ensure_installed
command="${1:-all}"
[[ $# -gt 0 ]] && shift

case "$command" in
    test)
        "$VENV/bin/ruff" check .
        "$VENV/bin/ruff" format --check .
        exec "$VENV/bin/pytest" "$@"
        ;;
    chaos)
        exec "$VENV/bin/python" -m chaos "$@"
        ;;
    help | -h | --help)
        sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
        ;;
    *)
        exec "$VENV/bin/python" -m runtime.launcher "$command" "$@"
        ;;
esac
