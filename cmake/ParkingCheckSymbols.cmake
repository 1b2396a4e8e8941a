# Symbol hygiene of the built libraries, run as a test (parking-abi-symbols):
#
#   cmake -DNM=<nm> -DREADELF=<readelf> -DSHARED=<libparking.so> -DSTATIC=<libparking.a>
#         -DLIST=<cmake/exported-symbols.txt> -DSONAME=libparking.so.0.2
#         [-DVERSION_NODE=PARKING_0.2] -P ParkingCheckSymbols.cmake
#
# 1. The shared library exports exactly the symbols of LIST (functions and data, TLS included;
#    the linker's own _init/_fini/_edata/_end/__bss_start and version node names excluded).
# 2. With VERSION_NODE, every exported symbol carries it as its default version (sym@@NODE).
# 3. The SONAME is SONAME.
# 4. Every global symbol defined in the static library is in the pl_ namespace: a program that
#    links libparking.a gets no symbol that could clash with its own.  (Symbols a sanitizer's
#    instrumentation adds, such as __odr_asan.<name>, are not ours and are skipped, as is
#    <sys/sdt.h>'s weak hidden _.stapsdt.base, which every object with a static probe has.)
# 5. LIST itself is sorted and free of duplicates (so that diffs of it stay readable).
cmake_minimum_required(VERSION 3.20)

foreach(var NM READELF SHARED STATIC LIST SONAME)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "ParkingCheckSymbols.cmake: -D${var}=... is required")
  endif()
endforeach()

set(errors "")
macro(problem text)
  string(APPEND errors "  ${text}\n")
endmacro()

# --- the list in the repository --------------------------------------------------------------
file(STRINGS "${LIST}" list_lines)
set(expected "")
foreach(line IN LISTS list_lines)
  string(STRIP "${line}" line)
  if(line STREQUAL "" OR line MATCHES "^#")
    continue()
  endif()
  list(APPEND expected "${line}")
endforeach()
set(sorted ${expected})
list(SORT sorted)  # STRING order: the same as LC_ALL=C sort for these names
list(REMOVE_DUPLICATES sorted)
if(NOT sorted STREQUAL expected)
  problem("${LIST} is not sorted or has duplicates")
endif()

# --- 1, 2: nm -D ----------------------------------------------------------------------------
execute_process(COMMAND "${NM}" -D --defined-only "${SHARED}"
                OUTPUT_VARIABLE nm_out ERROR_VARIABLE nm_err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${NM} -D --defined-only ${SHARED} failed: ${nm_err}")
endif()
string(REPLACE "\n" ";" nm_lines "${nm_out}")
set(linker_noise _init _fini _edata _end __bss_start)
set(exported "")
foreach(line IN LISTS nm_lines)
  # "<address> <type> <name>[@@<version>]"
  if(NOT line MATCHES "^[0-9a-fA-F]* *([A-Za-z]) (.+)$")
    continue()
  endif()
  set(type "${CMAKE_MATCH_1}")
  set(name "${CMAKE_MATCH_2}")
  if(type STREQUAL "A")
    continue()  # a version node (PARKING_0.2), not a symbol
  endif()
  set(version "")
  set(at "")
  if(name MATCHES "^([^@]+)(@@?)(.*)$")
    set(name "${CMAKE_MATCH_1}")
    set(at "${CMAKE_MATCH_2}")
    set(version "${CMAKE_MATCH_3}")
  endif()
  if(name IN_LIST linker_noise)
    continue()
  endif()
  list(APPEND exported "${name}")
  if(DEFINED VERSION_NODE AND NOT VERSION_NODE STREQUAL "")
    if(NOT version STREQUAL VERSION_NODE OR NOT at STREQUAL "@@")
      problem("${name} is exported without the default version @@${VERSION_NODE}")
    endif()
  endif()
endforeach()
list(SORT exported)
set(extra ${exported})
list(REMOVE_ITEM extra ${expected})
set(missing ${expected})
if(exported)
  list(REMOVE_ITEM missing ${exported})
endif()
foreach(name IN LISTS extra)
  problem("exported but not in the list (add it to ${LIST} if it is new API, or make it "
          "hidden): ${name}")
endforeach()
foreach(name IN LISTS missing)
  problem("in the list but not exported (an ABI break if it was released): ${name}")
endforeach()

# --- 3: SONAME --------------------------------------------------------------------------------
execute_process(COMMAND "${READELF}" -d "${SHARED}"
                OUTPUT_VARIABLE re_out ERROR_VARIABLE re_err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${READELF} -d ${SHARED} failed: ${re_err}")
endif()
if(re_out MATCHES "\\(SONAME\\)[^\n]*\\[([^]\n]*)\\]")
  if(NOT CMAKE_MATCH_1 STREQUAL SONAME)
    problem("SONAME is ${CMAKE_MATCH_1}, expected ${SONAME}")
  endif()
else()
  problem("no SONAME in ${SHARED}")
endif()

# --- 4: the static library's namespace -----------------------------------------------------
execute_process(COMMAND "${NM}" -g --defined-only "${STATIC}"
                OUTPUT_VARIABLE nm_out ERROR_VARIABLE nm_err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${NM} -g --defined-only ${STATIC} failed: ${nm_err}")
endif()
string(REPLACE "\n" ";" nm_lines "${nm_out}")
set(count 0)
foreach(line IN LISTS nm_lines)
  if(NOT line MATCHES "^[0-9a-fA-F]* *([A-Za-z]) (.+)$")
    continue()  # member names and blank lines
  endif()
  set(name "${CMAKE_MATCH_2}")
  if(name MATCHES "^__(odr_asan|asan|tsan|ubsan|msan|hwasan|sanitizer)")
    continue()  # added by a sanitizer's instrumentation (e.g. __odr_asan.<global>), not ours
  endif()
  if(name STREQUAL "_.stapsdt.base")
    continue()  # <sys/sdt.h>'s weak hidden anchor of the static probes (docs/profiling.md)
  endif()
  math(EXPR count "${count} + 1")
  if(NOT name MATCHES "^pl_")
    problem("libparking.a defines a global symbol outside the pl_ namespace: ${name}")
  endif()
endforeach()
if(count EQUAL 0)
  problem("no global symbol found in ${STATIC}")
endif()

list(LENGTH exported n_exported)
if(errors)
  message(FATAL_ERROR "symbol check failed:\n${errors}")
endif()
message(STATUS "symbol check passed: ${n_exported} exported symbols as listed, "
               "SONAME ${SONAME}, ${count} global symbols of libparking.a all pl_*")
