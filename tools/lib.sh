# Shared by the tools/ scripts; sourced, never run:
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Moves to the repository root and sets `tool` (tools/<script>) and `jobs` (online CPUs).
# shellcheck shell=bash

cd "$(dirname "${BASH_SOURCE[0]}")/.."
tool=tools/$(basename "$0")
jobs=$(nproc 2>/dev/null || echo 2)

# log <text>: a heading on stderr, "== tools/<script>: <text> ==".
log() { echo "== $tool: $* ==" >&2; }

# stage <name> <heading> <command...>: runs the command under the heading, then logs
# "<name> passed in N s" or "<name> FAILED in N s"; a failed stage is appended to the
# array `failed`.
stage() {
    local name=$1 heading=$2 start=$SECONDS
    shift 2
    log "$heading"
    # The time of each stage is logged so the budget of the README's test command (30 minutes on
    # 2 cores) can be read off any run, CI's included.
    if "$@"; then
        log "$name passed in $((SECONDS - start)) s"
    else
        log "$name FAILED in $((SECONDS - start)) s"
        failed+=("$name")
    fi
}

# require_command <command> <message>: exits 1 with the message unless the command exists.
require_command() {
    command -v "$1" >/dev/null 2>&1 || {
        echo "$2" >&2
        exit 1
    }
}

# missing_debs <package...>: sets the array `missing` to those not installed (dpkg).
missing_debs() {
    local pkg status
    missing=()
    for pkg in "$@"; do
        status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
        [[ $status == "install ok installed" ]] || missing+=("$pkg")
    done
}

# root_prefix: sets the array `as_root` to what runs a command as root (nothing as root, sudo
# otherwise); returns 1 where neither works.
root_prefix() {
    as_root=()
    [[ $(id -u) -eq 0 ]] && return 0
    command -v sudo >/dev/null 2>&1 || return 1
    as_root=(sudo)
}

# apt_install <package...>: apt-get update and install, without prompts, through `as_root`.
apt_install() {
    ${as_root[@]+"${as_root[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get update -q
    ${as_root[@]+"${as_root[@]}"} env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "$@"
}
