#!/usr/bin/env bash
# The one command that runs every test of Wharf, on a fresh Debian 12 machine
# or a developer's: installs the client tools and the Python test environment
# when missing, then format check, clippy, unit tests, release build, and the
# integration tests that drive target/release/wharf with real SSH clients.
#
#   bash scripts/test.sh                 # everything (CI runs this via .ci/run)
#   bash scripts/test.sh -k jail -x      # extra arguments go to pytest
#   WHARF_TEST_AGAINST=openssh bash scripts/test.sh   # integration suite against OpenSSH's sshd
#
# Every stage runs even when an earlier one failed (a format nit must not hide
# a failing test), except that the integration tests need the release build.
# The exit status is 0 only if every stage passed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$(pwd)
export DEBIAN_FRONTEND=noninteractive
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
VENV="$REPO/.venv"
REQS="$REPO/tests/integration/requirements.txt"

# Debian packages the integration tests run. openssh-server is only for the
# WHARF_TEST_AGAINST=openssh reference mode, but cheap and the same every run.
APT_PACKAGES=(openssh-client openssh-server putty-tools lftp python3-venv postgresql)

declare -a SUMMARY=()
declare -a FAILED=()
T0=$SECONDS

stage_header() {
    printf '\n==================== %s ====================\n' "$1"
}

# run_stage NAME CMD...: run CMD with errexit in a subshell, record pass/fail and time.
run_stage() {
    local name=$1 rc start=$SECONDS
    shift
    stage_header "$name"
    set +e
    ( set -euo pipefail; "$@" )
    rc=$?
    set -e
    local took=$((SECONDS - start))
    if [[ $rc -eq 0 ]]; then
        SUMMARY+=("$(printf '%-26s passed  %4ds' "$name" "$took")")
    else
        SUMMARY+=("$(printf '%-26s FAILED  %4ds (exit %d)' "$name" "$took" "$rc")")
        FAILED+=("$name")
        printf '\n>>> stage "%s" FAILED (exit %d)\n' "$name" "$rc"
    fi
    return 0
}

skip_stage() {
    stage_header "$1"
    echo "skipped: $2"
    SUMMARY+=("$(printf '%-26s SKIPPED (%s)' "$1" "$2")")
    FAILED+=("$1")
}

stage_failed() {
    local f
    for f in "${FAILED[@]+"${FAILED[@]}"}"; do [[ $f == "$1" ]] && return 0; done
    return 1
}

as_root() {
    if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo -n "$@"; fi
}

install_system_packages() {
    local missing=() p
    for p in "${APT_PACKAGES[@]}"; do
        # Not just `dpkg -s`: a removed package whose config files remain still passes that.
        [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == "install ok installed" ]] || missing+=("$p")
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        echo "all present: ${APT_PACKAGES[*]}"
    else
        echo "installing: ${missing[*]}"
        local try
        for try in 1 2 3; do  # a mirror hiccup should not fail the run
            as_root apt-get update -qq && break
            [[ $try -eq 3 ]] && return 1
            sleep 10
        done
        as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    for p in ssh sftp ssh-keygen psftp lftp python3; do
        command -v "$p" >/dev/null || { echo "missing after install: $p" >&2; return 1; }
    done
    ssh -V
    psftp -V | head -1
    lftp --version | head -1
}

install_python_env() {
    if [[ -x "$VENV/bin/python" ]] && ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
        echo "removing a broken $VENV"
        rm -rf "$VENV"
    fi
    [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
    # Skip pip when the requirements are unchanged since the last install.
    local want have=""
    want=$(sha256sum "$REQS" | cut -d' ' -f1)
    [[ -f "$VENV/.requirements.sha256" ]] && have=$(cat "$VENV/.requirements.sha256")
    if [[ "$want" != "$have" ]]; then
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQS"
        echo "$want" >"$VENV/.requirements.sha256"
    fi
    "$VENV/bin/python" -m pytest --version
}

cargo_tests() {
    # nextest runs each test binary in parallel processes; doctests are not
    # its business, so they get their own pass.
    if cargo nextest --version >/dev/null 2>&1; then
        cargo nextest run --workspace --no-fail-fast
        cargo test --workspace --doc
    else
        cargo test --workspace --no-fail-fast
    fi
}

integration_tests() {
    export WHARF_BIN="$TARGET_DIR/release/wharf"
    "$VENV/bin/python" -m pytest -q tests/integration "$@"
}

echo "wharf test run: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(nproc) cores, CI=${CI:-false}"
cargo --version
rustc --version

run_stage "install system packages" install_system_packages
run_stage "python test environment" install_python_env
if stage_failed "install system packages" || stage_failed "python test environment"; then
    echo "cannot test without the tools above" >&2
    exit 1
fi

run_stage "cargo fmt --check" cargo fmt --all -- --check
run_stage "layering" bash scripts/check-layering.sh
run_stage "cargo clippy" cargo clippy --workspace --all-targets -- -D warnings
run_stage "cargo tests" cargo_tests
run_stage "cargo build --release" cargo build --release -p wharf

if stage_failed "cargo build --release" && [[ "${WHARF_TEST_AGAINST:-wharf}" == wharf ]]; then
    skip_stage "integration tests" "no release build of wharf"
else
    run_stage "integration tests" integration_tests "$@"
fi

stage_header "summary"
printf '%s\n' "${SUMMARY[@]}"
printf 'total %ds\n' "$((SECONDS - T0))"
n_failed=${#FAILED[@]}
echo "stages: $((${#SUMMARY[@]} - n_failed)) passed, $n_failed failed"
if [[ $n_failed -gt 0 ]]; then
    echo "FAILED: ${FAILED[*]}"
    exit 1
fi
echo "all stages passed"
