#!/usr/bin/env bash
# The one entry point: installs what is missing, then runs the part asked for.
#   ./run.sh                 everything (embedded PostgreSQL/Redis and sandbox when unconfigured)
#   ./run.sh test [args]     lint + the whole test suite (args go to pytest)
#   ./run.sh test --mutation mutation testing of the pure money rules, with its score
#   ./run.sh web | worker [dramatiq args] | scheduler | migrate | sandbox | admin ...
#   ./run.sh bench [--quick|--smoke]  the end-to-end benchmark
#   ./run.sh chaos [args]    the hostile-world run (./run.sh chaos --help)
#   ./run.sh lock            re-pins requirements*.txt from requirements*.in (uv, with hashes)
# The virtualenv is .venv (VENV=... for another), made with the newest Python 3.11+ on PATH
# (PYTHON=... to choose). It gets requirements.txt (production), plus requirements-local.txt
# (embedded servers, sandbox) unless DATABASE_URL and REDIS_URL are both set and the part is
# web, worker, scheduler, migrate or admin; `test` and `lock` also install requirements-dev.txt.
set -euo pipefail
cd "$(dirname "$0")"

VENV=${VENV:-.venv}
STAMP="$VENV/.requirements.sha256"
RUNTIME_LOCK=requirements.txt
LOCAL_LOCK=requirements-local.txt
DEV_LOCK=requirements-dev.txt
PRODUCTION_PARTS='^(web|worker|scheduler|migrate|admin)$'
OLDEST_PYTHON='(3, 11)'

python_ok() {
    "$1" -c "import sys; sys.exit(sys.version_info < $OLDEST_PYTHON)" >/dev/null 2>&1
}

find_python() {
    if [[ -n "${PYTHON:-}" ]]; then
        python_ok "$PYTHON" && echo "$PYTHON" && return
        echo "PYTHON=$PYTHON is not a working Python 3.11 or newer" >&2
        exit 1
    fi
    # A pyenv shim exists for every installed version but fails unless that version is active:
    # running the candidate, not just finding it, tells the two apart.
    for candidate in python3.14 python3.13 python3.12 python3.11 python3; do
        python_ok "$candidate" && echo "$candidate" && return
    done
    echo "Python 3.11 or newer is required (looked for python3.14 ... python3.11, python3)" >&2
    exit 1
}

python_version() {
    "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])'
}

ensure_venv() {
    if [[ ! -x "$VENV/bin/python" ]]; then
        local python
        python=$(find_python)
        echo "Creating $VENV with $python (Python $(python_version "$python")) ..." >&2
        "$python" -m venv "$VENV"
    elif [[ -n "${PYTHON:-}" && "$(python_version "$VENV/bin/python")" != "$(python_version "$PYTHON")" ]]; then
        echo "$VENV runs Python $(python_version "$VENV/bin/python"), not PYTHON=$PYTHON:" \
            "remove $VENV or choose another VENV=" >&2
        exit 1
    fi
}

# Installs the given lock files unless the stamp says these exact files are installed already.
# The stamp holds `sha256sum` lines of the files last installed: `./run.sh` after `./run.sh test`
# finds requirements.txt covered; `./run.sh test` after `./run.sh` installs the dev lock too.
ensure_installed() {
    local wanted line covered=1
    wanted=$(sha256sum "$@")
    if [[ -x "$VENV/bin/python" && -f "$STAMP" ]]; then
        while IFS= read -r line; do
            grep -qxF -- "$line" "$STAMP" || covered=0
        done <<<"$wanted"
        ((covered)) && return
    fi
    ensure_venv
    echo "Installing $* into $VENV ..." >&2
    local requirements=()
    for lock in "$@"; do requirements+=(-r "$lock"); done
    # Every line of the locks has hashes, so pip checks each download against them.
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes \
        "${requirements[@]}"
    echo "$wanted" >"$STAMP"
}

# Whether the setting `$1` has a value, read as config/settings.py reads it: the real
# environment wins over .env (its last line for the name), and an empty value means unset.
configured() {
    local name=$1 value=
    if [[ -n "${!name+set}" ]]; then
        value=${!name}
    elif [[ -f .env ]]; then
        value=$(sed -nE "s/^[[:space:]]*(export[[:space:]]+)?$name[[:space:]]*=[[:space:]]*['\"]?([^'\"#[:space:]]*).*/\2/p" .env | tail -n 1)
    fi
    [[ -n "$value" ]]
}

# A production part on configured PostgreSQL and Redis needs the production lock only; anything
# else may start an embedded server or the sandbox, which the local lock brings.
ensure_installed_for() {
    if [[ "$1" =~ $PRODUCTION_PARTS ]] && configured DATABASE_URL && configured REDIS_URL; then
        ensure_installed "$RUNTIME_LOCK"
    else
        ensure_installed "$RUNTIME_LOCK" "$LOCAL_LOCK"
    fi
}

command="${1:-all}"
[[ $# -gt 0 ]] && shift

case "$command" in
    test)
        ensure_installed "$RUNTIME_LOCK" "$LOCAL_LOCK" "$DEV_LOCK"
        if [[ "${1:-}" == "--mutation" ]]; then
            # Mutation testing of the pure money rules (pyproject.toml [tool.mutmut]); output in
            # mutants/ (git-ignored), started afresh so the score is never a stale cache.
            shift
            rm -rf mutants
            "$VENV/bin/mutmut" run "$@"
            exec "$VENV/bin/python" -m tests.mutation_score
        fi
        "$VENV/bin/ruff" check .
        "$VENV/bin/ruff" format --check .
        exec "$VENV/bin/pytest" "$@"
        ;;
    lock)
        ensure_installed "$RUNTIME_LOCK" "$LOCAL_LOCK" "$DEV_LOCK"
        # One lock for every platform and every Python from 3.11 on (markers where they differ),
        # in this order: each later lock is constrained by the ones before it.
        for name in requirements requirements-local requirements-dev; do
            "$VENV/bin/uv" pip compile --quiet --universal --python-version 3.11 \
                --generate-hashes --custom-compile-command "./run.sh lock" "$@" \
                "$name.in" -o "$name.txt"
        done
        ;;
    bench)
        ensure_installed "$RUNTIME_LOCK" "$LOCAL_LOCK"
        exec "$VENV/bin/python" -m harness.benchmarks "$@"
        ;;
    chaos)
        ensure_installed "$RUNTIME_LOCK" "$LOCAL_LOCK"
        exec "$VENV/bin/python" -m harness.chaos "$@"
        ;;
    help | -h | --help)
        sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
        ;;
    *)
        ensure_installed_for "$command"
        exec "$VENV/bin/python" -m local.launcher "$command" "$@"
        ;;
esac
