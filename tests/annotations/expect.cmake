# Runs one command and checks how it ended: the ctest driver of tests/annotations.
#   cmake -DCOMMAND=<;-list> -DEXPECT=clean|report [-DREPORT=<regex>] -P expect.cmake
# clean: exit status 0 and no REPORT in the output.  report: a non-zero exit status and REPORT
# in the output (a detector that exits non-zero for another reason, such as a crash, fails).
if(NOT DEFINED COMMAND OR NOT EXPECT MATCHES "^(clean|report)$" OR NOT DEFINED REPORT)
  message(FATAL_ERROR "usage: cmake -DCOMMAND=... -DEXPECT=clean|report -DREPORT=regex -P expect.cmake")
endif()
execute_process(COMMAND ${COMMAND} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(all "${out}${err}")
string(REGEX MATCH "${REPORT}" found "${all}")
message("${all}")
if(EXPECT STREQUAL "clean")
  if(NOT rc STREQUAL "0" OR found)
    message(FATAL_ERROR "expected a clean run: exit status ${rc}, report found: '${found}'")
  endif()
else()
  if(rc STREQUAL "0" OR NOT found)
    message(FATAL_ERROR "expected a report (${REPORT}) and a non-zero exit status: exit status ${rc}, found: '${found}'")
  endif()
endif()
message("expect.cmake: ${EXPECT} as expected (exit status ${rc})")
