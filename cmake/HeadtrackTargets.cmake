# headtrack_add_layer(NAME SOURCES ... DEPENDS lower layers ...)
# A layer is an OBJECT library; the static library `headtrack` collects them all.
set(HEADTRACK_LAYERS "" CACHE INTERNAL "")

function(headtrack_set_warnings target)
  # -Wno-restrict: GCC 12 reports false positives inside std::string (GCC bug 105329).
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wno-unused-parameter -Wno-restrict)
  if(HEADTRACK_WARNINGS_AS_ERRORS)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

function(headtrack_add_layer name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPENDS" ${ARGN})
  add_library(headtrack_${name} OBJECT ${ARG_SOURCES})
  target_include_directories(headtrack_${name} PUBLIC
    ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(headtrack_${name} PUBLIC Eigen3::Eigen ${HEADTRACK_PRIVATE_DEPS})
  foreach(dep IN LISTS ARG_DEPENDS)
    add_dependencies(headtrack_${name} headtrack_${dep})
  endforeach()
  target_compile_definitions(headtrack_${name} PRIVATE HEADTRACK_DATA_DIR="${HEADTRACK_DATA_DIR}")
  set_target_properties(headtrack_${name} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  headtrack_set_warnings(headtrack_${name})
  set(HEADTRACK_LAYERS ${HEADTRACK_LAYERS} ${name} CACHE INTERNAL "")
endfunction()

# headtrack_add_test(NAME SOURCES ...): one GoogleTest executable, its tests registered with CTest.
function(headtrack_add_test name)
  if(NOT HEADTRACK_BUILD_TESTS)
    return()
  endif()
  add_executable(${name} ${ARGN})
  target_link_libraries(${name} PRIVATE headtrack::headtrack GTest::gtest GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE
    HEADTRACK_DATA_DIR="${HEADTRACK_DATA_DIR}"
    HEADTRACK_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  headtrack_set_warnings(${name})
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 120 PROPERTIES LABELS unit)
endfunction()
