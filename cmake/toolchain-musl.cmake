# CMake toolchain file: libparking against musl instead of glibc, on this machine's own
# architecture, with musl-gcc (Debian: musl-tools).  Used by tools/test-musl (docs/platforms.md):
#
#   cmake -S . -B build/musl -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-musl.cmake
#
# Not a cross build: the programs run here, natively.  The tests use the Check stand-in
# (tests/check_posix): Debian's Check is built for glibc.
set(CMAKE_C_COMPILER musl-gcc)
# No C++: musl-tools has no C++ library, and g++ would use glibc's headers.
set(CMAKE_CXX_COMPILER "")
# pkg-config must not hand glibc-built libraries (Check, SQLite) to the musl build.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/${CMAKE_HOST_SYSTEM_PROCESSOR}-linux-musl/pkgconfig)
