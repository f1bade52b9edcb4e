# Debug information: line tables only (-g1) unless OUTBOARD_FULL_DEBUG_INFO is on. Line tables are
# what sanitizer stack traces, perf and a debugger's backtrace need (functions, files, lines); full
# -g adds every local variable's location and type, which is most of a debug build's size and, with
# g++, about 40% of its compile time (one heavy unity batch: 53 s with "-g -gz", 38 s with "-g",
# 32 s with "-g1"; docs/BENCHMARKS.md "Build time: debug information"). Line tables uncompressed take
# about the room full -g took compressed with -gz, so three CI builds still fit its disk, without
# paying zlib on every object and every link.
option(OUTBOARD_FULL_DEBUG_INFO "Full -g debug information (locals, types) instead of line tables" OFF)
if(NOT OUTBOARD_FULL_DEBUG_INFO)
  # After CMAKE_CXX_FLAGS_<CONFIG>'s -g on the command line, so it sets the level; only where that
  # -g is (a Release or plain build asked for no debug information and gets none).
  add_compile_options($<$<CONFIG:Debug,RelWithDebInfo>:-g1>)
endif()
