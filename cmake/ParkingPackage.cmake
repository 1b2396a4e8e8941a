# CPack: Debian packages built from the install rules (cmake/ParkingInstall.cmake).
#
#   cpack -G DEB --config <build>/CPackConfig.cmake
#
#   libparking<soversion> (libparking0.2) the Runtime component: libparking.so.<soversion> and
#                   libparking.so.<version>
#   libparking-dev  the Development component: headers, the libparking.so link, libparking.a,
#                   the CMake package and parking.pc; depends on the runtime package of the same version
#
# Both install under /usr; the library directory is the one GNUInstallDirs chose at configure
# time (lib/<multiarch> when CMAKE_INSTALL_PREFIX is /usr, else lib), so configure with
# -DCMAKE_INSTALL_PREFIX=/usr for packages laid out like Debian's own.  The test
# parking-debian-packages (tests/consumers/run-deb.sh) builds, inspects and, as root,
# installs and removes them.
#
# Included at the end of the top-level CMakeLists.txt, only when the install rules exist.

set(CPACK_PACKAGE_NAME "libparking")
set(CPACK_PACKAGE_VENDOR "libparking")
set(CPACK_PACKAGE_CONTACT "libparking maintainers <maintainers@libparking.invalid>"
    CACHE STRING "Maintainer field of the Debian packages")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "compact locks (one-byte mutexes and friends) built on a parking lot")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_VERSION_MAJOR "${PROJECT_VERSION_MAJOR}")
set(CPACK_PACKAGE_VERSION_MINOR "${PROJECT_VERSION_MINOR}")
set(CPACK_PACKAGE_VERSION_PATCH "${PROJECT_VERSION_PATCH}")
set(CPACK_RESOURCE_FILE_README "${PROJECT_SOURCE_DIR}/README.md")
set(CPACK_PACKAGE_DIRECTORY "${PROJECT_BINARY_DIR}/packages")
# Install with DESTDIR=<staging> and CMAKE_INSTALL_PREFIX=/usr, so that parking.pc, which is
# written at install time from CMAKE_INSTALL_PREFIX, says prefix=/usr and not the staging path
# (without CPACK_SET_DESTDIR, CPack would install with CMAKE_INSTALL_PREFIX=<staging>/usr).
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX "/usr")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")

if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
  set(CPACK_GENERATOR "DEB")
else()
  set(CPACK_GENERATOR "TGZ")
endif()

# Components: only these two (the Check suite and pl-bench install nothing).
set(CPACK_COMPONENTS_ALL Runtime Development)
set(CPACK_COMPONENT_RUNTIME_DISPLAY_NAME "libparking runtime library")
set(CPACK_COMPONENT_DEVELOPMENT_DISPLAY_NAME "libparking development files")
set(CPACK_COMPONENT_DEVELOPMENT_DEPENDS Runtime)

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)          # <package>_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_SECTION "libs")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://libparking.invalid/")
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)    # libparking-dev Depends: libparking0.2 (= ...)

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME "libparking${PARKING_SOVERSION}")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION "libs")
# Depends: from dpkg-shlibdeps (libc6 (>= ...)); a shlibs file so that packages built against
# libparking depend on libparking0.2 (>= this version); ldconfig runs in postinst and postrm.
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
# The synopsis line of both is CPACK_PACKAGE_DESCRIPTION_SUMMARY; CPack indents the rest.
set(_parking_about "libparking is a C library of compact locks: a mutex is one byte, a read-write
lock or condition variable one word, and all of them start unlocked from zeroed
memory. Blocked threads wait in one process-wide parking lot.
")
set(CPACK_DEBIAN_RUNTIME_DESCRIPTION "${_parking_about}
This package contains the shared library, libparking.so.${PARKING_SOVERSION}, and where built,
libparking-pthread.so.0 with the parking-run wrapper: unmodified pthread programs on the
parking lot (LD_PRELOAD).")

set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_NAME "libparking-dev")
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_SECTION "libdevel")
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_SHLIBDEPS OFF)
set(CPACK_DEBIAN_DEVELOPMENT_DESCRIPTION "${_parking_about}
This package contains the headers, the static library, the CMake package
(find_package(parking)) and the pkg-config file (parking.pc).")

include(CPack)
