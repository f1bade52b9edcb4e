# Warnings on everywhere; errors in CI (OUTBOARD_WERROR). Applied to our targets only, through
# outboard_options, so third-party headers (included as SYSTEM) do not trip them.
add_library(outboard_options INTERFACE)
target_compile_options(outboard_options INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Wunused -Woverloaded-virtual -Wimplicit-fallthrough
  # g++ 12 at -O2 reports false positives from inside Asio's handler allocators.
  $<$<CXX_COMPILER_ID:GNU>:-Wno-mismatched-new-delete>
  # A unity build #includes each .cpp into one file, so g++ sees a coroutine frame holding a type
  # of that .cpp's anonymous namespace as "defined in a header" and warns; in a unity build that
  # is the build's shape, not a bug in the code.
  $<$<AND:$<CXX_COMPILER_ID:GNU>,$<BOOL:${CMAKE_UNITY_BUILD}>>:-Wno-subobject-linkage>
  $<$<BOOL:${OUTBOARD_WERROR}>:-Werror>)
# Asio: no deprecated APIs, and a completion-token friendly default.
target_compile_definitions(outboard_options INTERFACE
  BOOST_ASIO_NO_DEPRECATED BOOST_ASIO_DISABLE_CONCEPTS
  OUTBOARD_VERSION="${PROJECT_VERSION}")
# Sanitizers apply to every target, tests included, so nothing links half-instrumented.
# clang 14's -fsanitize=function (part of "undefined") cannot compile C++20 coroutines ("Cannot
# represent a difference across sections"), so that one check is left out on clang.
if(OUTBOARD_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
    $<$<CXX_COMPILER_ID:Clang>:-fno-sanitize=function>)
  # Linked without PIE: UBSan's per-check data holds pointers, and in a PIE binary each one is a
  # dynamic relocation (180 of the 518 MB of an ASan+UBSan `outboard`); three sanitizer builds of
  # every test binary filled CI's disk.
  add_link_options(-fsanitize=address,undefined -no-pie)
endif()
