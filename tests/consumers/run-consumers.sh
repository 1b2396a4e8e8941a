#!/usr/bin/env bash
# Installs a libparking build into a fresh temporary prefix and builds two consumer projects
# against that installed copy only, then runs them:
#   cmake/    find_package(parking) + parking::parking (shared), parking::parking_static (static)
#             and a C++17 program (shared)
#   make/     a plain Makefile with pkg-config --cflags --libs parking (shared)
# Checks the installed file list, that the programs linked to the shared library NEED
# the SONAME and really load the installed one, and that the static program needs no
# libparking at all.  Registered by tests/consumers/CMakeLists.txt (test parking-consumers).
#
# usage: run-consumers.sh <build dir> <work dir> <version> <C compiler> [<C++ compiler>]
set -euo pipefail

build=$1 work=$2 version=$3 cc=$4 cxx=${5:-}
# The ABI version (CMakeLists.txt, PARKING_SOVERSION): <major>.<minor> while the major is 0.
IFS=. read -r major minor _ <<<"$version"
if [[ $major == 0 ]]; then sover=0.$minor; else sover=$major; fi
soname=libparking.so.$sover
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source_include=$here/../../include/parking

fail() { echo "run-consumers: FAIL: $*" >&2; exit 1; }
step() { echo "== run-consumers: $*"; }

rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix

step "install into $prefix"
cmake --install "$build" --prefix "$prefix" >"$work/install.log" ||
    { cat "$work/install.log" >&2; fail "cmake --install failed"; }

# --- what the install must contain ------------------------------------------------------------
so=$(find "$prefix" -name "libparking.so.$version" -type f)
[[ -n $so ]] || fail "no libparking.so.$version under $prefix"
libdir=$(dirname "$so")
[[ -L $libdir/$soname && $(readlink "$libdir/$soname") == "libparking.so.$version" ]] ||
    fail "$soname is not a link to libparking.so.$version"
[[ -L $libdir/libparking.so ]] || fail "no libparking.so development link"
[[ -f $libdir/libparking.a ]] || fail "no libparking.a"
[[ -f $libdir/pkgconfig/parking.pc ]] || fail "no pkgconfig/parking.pc in $libdir"
for f in parkingConfig.cmake parkingConfigVersion.cmake parkingTargets.cmake; do
    [[ -f $libdir/cmake/parking/$f ]] || fail "no cmake/parking/$f in $libdir"
done
for h in "$source_include"/*.h; do
    [[ -f $prefix/include/parking/$(basename "$h") ]] || fail "header $(basename "$h") not installed"
done
actual=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[[ $actual == "$soname" ]] || fail "SONAME is '$actual', expected $soname"

# needs <program> <yes|no>: whether the program has DT_NEEDED the SONAME
needs() {
    if readelf -d "$1" | grep '(NEEDED)' | grep -qF "[$soname]"; then
        [[ $2 == yes ]] || fail "$1 NEEDs $soname but links the static library"
    else
        [[ $2 == no ]] || fail "$1 does not NEED $soname"
    fi
}

# run <program> <expected provider of pl_version>
run() {
    local out
    out=$("$1") || { echo "$out" >&2; fail "$1 failed"; }
    echo "$out"
    grep -qx "version: $version" <<<"$out" || fail "$1 does not run version $version"
    if [[ -n $2 ]]; then
        local lib
        lib=$(sed -n 's/^library: //p' <<<"$out")
        [[ $(realpath "$lib") == $(realpath "$2") ]] ||
            fail "$1 used pl_version from $lib, expected $2"
    fi
}

# --- pkg-config and a plain Makefile ----------------------------------------------------------
# PKG_CONFIG_LIBDIR replaces the default search path: only the new prefix is looked at.
step "make + pkg-config"
export PKG_CONFIG_LIBDIR=$libdir/pkgconfig
unset PKG_CONFIG_PATH
[[ $(pkg-config --modversion parking) == "$version" ]] || fail "pkg-config --modversion"
read -r cflags <<<"$(pkg-config --cflags parking)" # (trims the trailing blank)
[[ $cflags == "-I$prefix/include" ]] || fail "pkg-config --cflags parking: $cflags"
[[ $(pkg-config --variable=libdir parking) == "$libdir" ]] || fail "pkg-config libdir"
# The documented compile line (README, docs/getting-started.md) is
# `cc -std=c11 -O2 app.c $(pkg-config --cflags --libs parking) -o app`, with no -pthread of
# its own: the .pc must supply it.
libs=" $(pkg-config --libs parking) "
[[ $libs == *" -pthread "* ]] || fail "pkg-config --libs parking lacks -pthread:$libs"
mkdir -p "$work/make"
make -s -C "$here/make" O="$work/make" CC="$cc" >"$work/make.log" 2>&1 ||
    { cat "$work/make.log" >&2; fail "make failed"; }
needs "$work/make/app" yes
LD_LIBRARY_PATH=$libdir run "$work/make/app" "$libdir/$soname"
unset PKG_CONFIG_LIBDIR

# --- CMake: find_package --------------------------------------------------------------------
step "cmake find_package"
cxx_args=(-DCONSUMER_CXX=OFF)
[[ -n $cxx ]] && cxx_args=(-DCONSUMER_CXX=ON "-DCMAKE_CXX_COMPILER=$cxx")
# No package registries: CMAKE_PREFIX_PATH is the only place to look besides system prefixes,
# and the project fails if the package came from anywhere but $prefix.
cmake -S "$here/cmake" -B "$work/cmake" -DCMAKE_BUILD_TYPE=Release \
      "-DCMAKE_C_COMPILER=$cc" "${cxx_args[@]}" "-DCMAKE_PREFIX_PATH=$prefix" \
      "-DEXPECTED_PARKING_PREFIX=$prefix" \
      -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF \
      >"$work/cmake-configure.log" 2>&1 ||
    { cat "$work/cmake-configure.log" >&2; fail "consumer configure failed"; }
cmake --build "$work/cmake" >"$work/cmake-build.log" 2>&1 ||
    { cat "$work/cmake-build.log" >&2; fail "consumer build failed"; }
needs "$work/cmake/app" yes
needs "$work/cmake/app_static" no
# The CMake programs find the library through the RUNPATH CMake gave them.
run "$work/cmake/app" "$libdir/$soname"
run "$work/cmake/app_static" "$work/cmake/app_static"
if [[ -n $cxx ]]; then
    needs "$work/cmake/app_cxx" yes
    run "$work/cmake/app_cxx" ""
fi

rm -rf "$work"
step "all consumers passed"
