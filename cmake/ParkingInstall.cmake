# Install rules: headers, both libraries, a CMake package and a pkg-config file.
#
#   find_package(parking 0.2 REQUIRED)
#   target_link_libraries(app PRIVATE parking::parking)         # libparking.so.0.2
#   target_link_libraries(app PRIVATE parking::parking_static)  # libparking.a (+ PARKING_STATIC)
#
#   cc app.c $(pkg-config --cflags --libs parking)
#
# Included at the end of the top-level CMakeLists.txt, after the targets `parking` (shared) and
# `parking_static` (static, OUTPUT_NAME parking) exist.  Everything is relative to the install
# prefix, so `cmake --install <build> --prefix <dir>` and DESTDIR both work.

# Off by default when libparking is a subproject (add_subdirectory / FetchContent), so that it
# does not install itself into the parent project's prefix unasked.
if(CMAKE_SOURCE_DIR STREQUAL PROJECT_SOURCE_DIR)
  set(_parking_is_top_level ON)
else()
  set(_parking_is_top_level OFF)
endif()
option(PARKING_INSTALL "Generate the install target of libparking" ${_parking_is_top_level})
if(NOT PARKING_INSTALL)
  return()
endif()

set(PARKING_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/parking"
    CACHE STRING "Where parkingConfig.cmake is installed, relative to the prefix")
set(PARKING_INSTALL_PKGCONFIGDIR "${CMAKE_INSTALL_LIBDIR}/pkgconfig"
    CACHE STRING "Where parking.pc is installed, relative to the prefix")

# --- headers: PARKING_PUBLIC_HEADERS -> <prefix>/include/parking/ ----------------------------
list(TRANSFORM PARKING_PUBLIC_HEADERS PREPEND "${PROJECT_SOURCE_DIR}/"
     OUTPUT_VARIABLE _parking_install_headers)
list(TRANSFORM PARKING_PUBLIC_CXX_HEADERS PREPEND "${PROJECT_SOURCE_DIR}/"
     OUTPUT_VARIABLE _parking_install_cxx_headers)
list(APPEND _parking_install_headers ${_parking_install_cxx_headers})
install(FILES ${_parking_install_headers}
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/parking"
        COMPONENT Development)
# The generated parking/config.h (PARKING_DEBUG of this build), beside them.
install(FILES "${PROJECT_BINARY_DIR}/include/parking/config.h"
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/parking"
        COMPONENT Development)

# --- libraries ---------------------------------------------------------------------------------
# The shared library: libparking.so.0.2.0, the SONAME link libparking.so.0.2 (Runtime) and the
# development link libparking.so (Development).  On Windows the DLL goes to bin/ and its import
# library to lib/.  The static library is libparking.a.  No INCLUDES DESTINATION: the targets
# already carry <prefix>/include through $<INSTALL_INTERFACE:...> (cmake/ParkingLibrary.cmake).
install(TARGETS parking parking_static
        EXPORT parkingTargets
        RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT Runtime
        LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT Runtime
                NAMELINK_COMPONENT Development
        ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT Development)

# libparking-pthread (pthread/CMakeLists.txt): libparking-pthread.so.0 in the same export set
# (parking::parking_pthread), the parking-run wrapper and parking-pthread.pc.
if(TARGET parking_pthread)
  install(TARGETS parking_pthread
          EXPORT parkingTargets
          LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT Runtime
                  NAMELINK_COMPONENT Development)
  # The installed wrapper finds the library from its own location, so that the prefix given to
  # `cmake --install --prefix` (or DESTDIR's final root) is right without rewriting it.
  file(RELATIVE_PATH _parking_bin_to_lib "${CMAKE_INSTALL_FULL_BINDIR}"
       "${CMAKE_INSTALL_FULL_LIBDIR}")
  file(READ "${PROJECT_SOURCE_DIR}/pthread/parking-run" _parking_run)
  string(REPLACE "@PARKING_PTHREAD_LIB@"
         "$(cd \"$(dirname \"$0\")/${_parking_bin_to_lib}\" && pwd)/libparking-pthread.so.0"
         _parking_run "${_parking_run}")
  file(WRITE "${PROJECT_BINARY_DIR}/install/parking-run" "${_parking_run}")
  install(PROGRAMS "${PROJECT_BINARY_DIR}/install/parking-run"
          DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT Runtime)
endif()

# --- CMake package: find_package(parking) -> parking::parking, parking::parking_static ----------
# The export set names the targets by their CMake names, so with the namespace they become
# parking::parking and parking::parking_static, the same names as the aliases of the build tree:
# a consumer's CMakeLists works unchanged with add_subdirectory and with find_package.
install(EXPORT parkingTargets
        NAMESPACE parking::
        FILE parkingTargets.cmake
        DESTINATION "${PARKING_INSTALL_CMAKEDIR}"
        COMPONENT Development)

configure_package_config_file(
  "${PROJECT_SOURCE_DIR}/cmake/parkingConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/parkingConfig.cmake"
  INSTALL_DESTINATION "${PARKING_INSTALL_CMAKEDIR}")

# The package promises what the SONAME does (PARKING_SOVERSION, CMakeLists.txt): the same major
# version, and while that is 0, the same minor too (every 0.x may break the ABI).
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(_parking_compatibility SameMinorVersion)
else()
  set(_parking_compatibility SameMajorVersion)
endif()
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/parkingConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}"
  COMPATIBILITY ${_parking_compatibility})

install(FILES "${PROJECT_BINARY_DIR}/parkingConfig.cmake"
              "${PROJECT_BINARY_DIR}/parkingConfigVersion.cmake"
        DESTINATION "${PARKING_INSTALL_CMAKEDIR}"
        COMPONENT Development)

# --- pkg-config: parking.pc ---------------------------------------------------------------------
# The prefix is only known for sure at install time (`cmake --install --prefix` overrides the
# configured CMAKE_INSTALL_PREFIX), so parking.pc is generated by the install script itself from
# cmake/parking.pc.in, with the prefix the install actually uses (without DESTDIR, which is
# right: DESTDIR is a staging root, not where the files will live).
set(PARKING_PC_LIBS_PRIVATE "-pthread")
if(PARKING_PARKER_RESOLVED STREQUAL "windows")
  string(APPEND PARKING_PC_LIBS_PRIVATE " -lsynchronization")
endif()
# Users' own code calls libatomic through the inline fast paths where the compiler needs it
# (cmake/ParkingLibrary.cmake), so it goes into Libs, beside -pthread.
set(PARKING_PC_LIBATOMIC "")
if(PARKING_LIBATOMIC)
  set(PARKING_PC_LIBATOMIC " -latomic")
endif()

if(TARGET parking_pthread)
  set(_parking_pc_pthread 1)
else()
  set(_parking_pc_pthread 0)
endif()
set(_parking_pc_script "${PROJECT_BINARY_DIR}/parking_pc_install.cmake")
file(WRITE "${_parking_pc_script}" "
# Generated by cmake/ParkingInstall.cmake: writes parking.pc for the install prefix in use.
set(_prefix \"\${CMAKE_INSTALL_PREFIX}\")
foreach(_dir IN ITEMS LIBDIR INCLUDEDIR)
  set(_value \"\${_PARKING_\${_dir}}\")
  if(IS_ABSOLUTE \"\${_value}\")
    set(PARKING_PC_\${_dir} \"\${_value}\")
  elseif(_dir STREQUAL \"LIBDIR\")
    set(PARKING_PC_\${_dir} \"\\\${exec_prefix}/\${_value}\")
  else()
    set(PARKING_PC_\${_dir} \"\\\${prefix}/\${_value}\")
  endif()
endforeach()
set(PARKING_PC_PREFIX \"\${_prefix}\")
configure_file(\"\${_PARKING_PC_IN}\" \"\${_PARKING_PC_OUT}\" @ONLY)
")
install(CODE "
  set(_PARKING_LIBDIR \"${CMAKE_INSTALL_LIBDIR}\")
  set(_PARKING_INCLUDEDIR \"${CMAKE_INSTALL_INCLUDEDIR}\")
  set(_PARKING_PC_IN \"${PROJECT_SOURCE_DIR}/cmake/parking.pc.in\")
  # One file per destination, so that installs into different prefixes at the same time (tests
  # do that) cannot overwrite each other's parking.pc between generating and copying it.
  string(MD5 _parking_pc_key \"\$ENV{DESTDIR}|\${CMAKE_INSTALL_PREFIX}\")
  set(_PARKING_PC_OUT \"${PROJECT_BINARY_DIR}/pkgconfig/\${_parking_pc_key}/parking.pc\")
  set(PROJECT_NAME \"${PROJECT_NAME}\")
  set(PROJECT_VERSION \"${PROJECT_VERSION}\")
  set(PARKING_PC_LIBS_PRIVATE \"${PARKING_PC_LIBS_PRIVATE}\")
  set(PARKING_PC_LIBATOMIC \"${PARKING_PC_LIBATOMIC}\")
  include(\"${_parking_pc_script}\")
  # file(INSTALL) is what install(FILES) runs: it adds DESTDIR and records the file in the
  # install manifest.
  set(_parking_pc_dir \"${PARKING_INSTALL_PKGCONFIGDIR}\")
  if(NOT IS_ABSOLUTE \"\${_parking_pc_dir}\")
    set(_parking_pc_dir \"\${CMAKE_INSTALL_PREFIX}/\${_parking_pc_dir}\")
  endif()
  file(INSTALL DESTINATION \"\${_parking_pc_dir}\" TYPE FILE FILES \"\${_PARKING_PC_OUT}\")
  set(_PARKING_PC_PTHREAD ${_parking_pc_pthread})
  if(_PARKING_PC_PTHREAD)
    set(_PARKING_PC_IN \"${PROJECT_SOURCE_DIR}/pthread/parking-pthread.pc.in\")
    set(_PARKING_PC_OUT \"${PROJECT_BINARY_DIR}/pkgconfig/\${_parking_pc_key}/parking-pthread.pc\")
    include(\"${_parking_pc_script}\")
    file(INSTALL DESTINATION \"\${_parking_pc_dir}\" TYPE FILE FILES \"\${_PARKING_PC_OUT}\")
  endif()
" COMPONENT Development)
