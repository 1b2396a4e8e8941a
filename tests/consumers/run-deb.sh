#!/usr/bin/env bash
# Builds the Debian packages of a libparking build with CPack (cmake/ParkingPackage.cmake),
# checks what is in them, and, when run as root on a Debian system, installs them into the
# real system with dpkg -i, builds and runs the consumer projects against that system install
# (pkg-config and find_package with no extra search path), and purges both packages again.
# Registered by tests/consumers/CMakeLists.txt (test parking-debian-packages).
#
# The install part runs only as root, with dpkg, when neither package nor any other libparking
# is installed already (the packages are removed afterwards; another install would be found
# first), and unless PARKING_SKIP_DEB_INSTALL=1; otherwise the script
# says that it skipped it and passes on the strength of the package checks.
#
# usage: run-deb.sh <build dir> <work dir> <version> <C compiler>
set -euo pipefail

build=$1 work=$2 version=$3 cc=$4
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source_include=$here/../../include/parking
debversion=$version-1
# The ABI version (CMakeLists.txt, PARKING_SOVERSION): <major>.<minor> while the major is 0.
IFS=. read -r major minor _ <<<"$version"
if [[ $major == 0 ]]; then sover=0.$minor; else sover=$major; fi
soname=libparking.so.$sover
soname_re=${soname//./\\.} # for grep -E

fail() { echo "run-deb: FAIL: $*" >&2; exit 1; }
step() { echo "== run-deb: $*"; }

rm -rf "$work"
mkdir -p "$work"

step "cpack -G DEB"
(cd "$work" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/packages") \
    >"$work/cpack.log" 2>&1 || { cat "$work/cpack.log" >&2; fail "cpack failed"; }
runtime=$(find "$work/packages" -maxdepth 1 -name "libparking${sover}_${debversion}_*.deb")
dev=$(find "$work/packages" -maxdepth 1 -name "libparking-dev_${debversion}_*.deb")
[[ -n $runtime && -n $dev ]] ||
    { ls -l "$work/packages" >&2; fail "expected libparking${sover}_${debversion}_*.deb and libparking-dev_${debversion}_*.deb"; }

# field <deb> <name>: one control field
field() { dpkg-deb -f "$1" "$2"; }
# has <listing> <path regex> [absent]
has() {
    if grep -Eq "$2" <<<"$1"; then
        [[ ${3:-} != absent ]] || fail "$(basename "$package") should not contain $2"
    else
        [[ ${3:-} == absent ]] || fail "$(basename "$package") lacks $2"
    fi
}

step "inspect $(basename "$runtime")"
package=$runtime
dpkg-deb -I "$runtime"
[[ $(field "$runtime" Package) == libparking$sover ]] || fail "runtime package name"
[[ $(field "$runtime" Version) == "$debversion" ]] || fail "runtime package version"
[[ $(field "$runtime" Depends) == *libc6* ]] || fail "runtime Depends lacks libc6 (dpkg-shlibdeps)"
listing=$(dpkg-deb -c "$runtime" | awk '{print $6 ($7 ? " " $7 " " $8 : "")}')
echo "$listing"
has "$listing" "^\./usr/lib/(.+/)?libparking\.so\.$version$"
has "$listing" "^\./usr/lib/(.+/)?$soname_re -> libparking\.so\.$version$"
has "$listing" "libparking\.so -> " absent
has "$listing" "libparking\.a" absent
has "$listing" "/include/" absent
# libparking-pthread (pthread/, docs/pthread.md), where the build has it.
if [[ -e $build/pthread/libparking-pthread.so.0 ]]; then
    has "$listing" "^\./usr/lib/(.+/)?libparking-pthread\.so\.0\.0\.0$"
    has "$listing" "^\./usr/lib/(.+/)?libparking-pthread\.so\.0 -> libparking-pthread\.so\.0\.0\.0$"
    has "$listing" "^\./usr/bin/parking-run$"
fi
dpkg-deb -e "$runtime" "$work/runtime-control"
grep -q "^libparking $sover libparking$sover " "$work/runtime-control/shlibs" || fail "no shlibs entry"
grep -q ldconfig "$work/runtime-control/postinst" || fail "postinst does not run ldconfig"

step "inspect $(basename "$dev")"
package=$dev
dpkg-deb -I "$dev"
[[ $(field "$dev" Package) == libparking-dev ]] || fail "development package name"
[[ $(field "$dev" Depends) == *"libparking$sover (= $debversion)"* ]] ||
    fail "libparking-dev does not depend on libparking$sover (= $debversion): $(field "$dev" Depends)"
listing=$(dpkg-deb -c "$dev" | awk '{print $6 ($7 ? " " $7 " " $8 : "")}')
echo "$listing"
for h in "$source_include"/*.h; do
    has "$listing" "^\./usr/include/parking/$(basename "$h")$"
done
has "$listing" "^\./usr/lib/(.+/)?libparking\.so -> $soname_re$"
has "$listing" "^\./usr/lib/(.+/)?libparking\.a$"
has "$listing" "^\./usr/lib/(.+/)?cmake/parking/parkingConfig\.cmake$"
has "$listing" "^\./usr/lib/(.+/)?cmake/parking/parkingTargets\.cmake$"
has "$listing" "^\./usr/lib/(.+/)?pkgconfig/parking\.pc$"
has "$listing" "libparking\.so\.$version" absent
if [[ -e $build/pthread/libparking-pthread.so.0 ]]; then
    has "$listing" "^\./usr/lib/(.+/)?libparking-pthread\.so -> libparking-pthread\.so\.0$"
    has "$listing" "^\./usr/lib/(.+/)?pkgconfig/parking-pthread\.pc$"
fi
dpkg-deb -x "$dev" "$work/dev-tree"
pc=$(find "$work/dev-tree" -name parking.pc)
grep -qx 'prefix=/usr' "$pc" || { cat "$pc" >&2; fail "parking.pc does not say prefix=/usr"; }

# --- the install into the system ------------------------------------------------------------
# other_install: where a libparking not from the packages is installed, if one is (the README's
# install into /usr/local, say).  It comes first in the loader's and pkg-config's search paths,
# so the consumers below would build and run against it instead of the packages.
other_install() {
    local cache where
    cache=$(ldconfig -p 2>/dev/null) || true
    where=$(sed -n '/libparking\.so\.[0-9.]* /{s/.*=> //p;q;}' <<<"$cache")
    [[ -n $where ]] ||
        where=$(env -u PKG_CONFIG_PATH -u PKG_CONFIG_LIBDIR \
                    pkg-config --variable=pcfiledir parking 2>/dev/null) || true
    echo "$where"
}

why_not=""
if [[ ${PARKING_SKIP_DEB_INSTALL:-0} == 1 ]]; then
    why_not="PARKING_SKIP_DEB_INSTALL=1"
elif [[ $(id -u) -ne 0 ]]; then
    why_not="not running as root"
elif ! command -v dpkg >/dev/null 2>&1; then
    why_not="no dpkg"
elif dpkg-query -W -f='${Status}\n' libparking$sover libparking-dev 2>/dev/null | grep -q installed; then
    why_not="libparking$sover or libparking-dev is already installed on this system (left alone)"
elif other=$(other_install) && [[ -n $other ]]; then
    why_not="another libparking is installed ($other; left alone)"
fi
if [[ -n $why_not ]]; then
    echo "run-deb: SKIPPED dpkg -i into the system: $why_not; the packages were built and inspected"
    rm -rf "$work"
    exit 0
fi

purge() { dpkg --purge libparking-dev libparking$sover >"$work/purge.log" 2>&1 || true; }
trap purge EXIT

step "dpkg -i"
dpkg -i "$runtime" "$dev" >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log" >&2; fail "dpkg -i failed"; }
so=$(dpkg -L libparking$sover | grep "/$soname_re$")
[[ -n $so ]] || fail "libparking$sover installed no $soname"
# (Not `ldconfig -p | grep -q`: grep's early exit can end ldconfig with SIGPIPE, which pipefail
# turns into a failure when the cache lists many libraries after libparking.)
grep -q "$soname_re " <<<"$(ldconfig -p)" || fail "ldconfig does not know $soname"
# loaded_from <program output>: the file that provided pl_version, resolved
loaded_from() { realpath "$(sed -n 's/^library: //p' <<<"$1")"; }

step "consumers against the system install"
unset PKG_CONFIG_PATH PKG_CONFIG_LIBDIR
[[ $(pkg-config --modversion parking) == "$version" ]] || fail "pkg-config --modversion parking"
mkdir -p "$work/make"
make -s -C "$here/make" O="$work/make" CC="$cc" >"$work/make.log" 2>&1 ||
    { cat "$work/make.log" >&2; fail "make against the system install failed"; }
out=$("$work/make/app") || { echo "$out" >&2; fail "make consumer failed"; }
echo "$out"
[[ $(loaded_from "$out") == $(realpath "$so") ]] || fail "make consumer did not load $so"
cmake -S "$here/cmake" -B "$work/cmake" -DCMAKE_BUILD_TYPE=Release "-DCMAKE_C_COMPILER=$cc" \
      -DCONSUMER_CXX=OFF -DEXPECTED_PARKING_PREFIX=/usr >"$work/cmake.log" 2>&1 &&
    cmake --build "$work/cmake" >>"$work/cmake.log" 2>&1 ||
    { cat "$work/cmake.log" >&2; fail "CMake consumer against the system install failed"; }
out=$("$work/cmake/app") || { echo "$out" >&2; fail "CMake consumer failed"; }
echo "$out"
[[ $(loaded_from "$out") == $(realpath "$so") ]] || fail "CMake consumer did not load $so"
"$work/cmake/app_static" >/dev/null || fail "static CMake consumer failed"

step "dpkg --purge"
trap - EXIT
dpkg --purge libparking-dev libparking$sover >"$work/purge.log" 2>&1 ||
    { cat "$work/purge.log" >&2; fail "dpkg --purge failed"; }
[[ ! -e $so && ! -e /usr/include/parking/parking.h ]] || fail "files left behind after purge"
! pkg-config --exists parking || fail "parking.pc left behind after purge"

rm -rf "$work"
step "packages built, installed, used and removed"
