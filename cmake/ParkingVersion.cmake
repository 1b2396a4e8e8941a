# include/parking/version.h must say the same version as project(VERSION): the headers, the
# library (pl_version), the SONAME, the CMake package version and parking.pc all follow it.
# The header is a source file, not generated, so that the include/ folder of a checkout works
# on its own (-I include); this check keeps the two from drifting apart.
set(_parking_version_h "${PROJECT_SOURCE_DIR}/include/parking/version.h")
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${_parking_version_h}")
file(STRINGS "${_parking_version_h}" _parking_version_lines
     REGEX "^#define PARKING_VERSION_(MAJOR|MINOR|PATCH|STRING) ")
set(_parking_header_version "")
foreach(_part IN ITEMS MAJOR MINOR PATCH)
  set(_value "")
  foreach(_line IN LISTS _parking_version_lines)
    if(_line MATCHES "^#define PARKING_VERSION_${_part} +([0-9]+)$")
      set(_value "${CMAKE_MATCH_1}")
    endif()
  endforeach()
  if(_value STREQUAL "" OR NOT _value STREQUAL "${PROJECT_VERSION_${_part}}")
    message(FATAL_ERROR
      "include/parking/version.h: PARKING_VERSION_${_part} is '${_value}' but project() says "
      "'${PROJECT_VERSION_${_part}}' (version ${PROJECT_VERSION}): change both together")
  endif()
endforeach()
set(_parking_expected_string "#define PARKING_VERSION_STRING \"${PROJECT_VERSION}\"")
if(NOT _parking_expected_string IN_LIST _parking_version_lines)
  message(FATAL_ERROR
    "include/parking/version.h: PARKING_VERSION_STRING must be \"${PROJECT_VERSION}\"")
endif()
