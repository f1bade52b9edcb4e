# Debug information is most of a debug or sanitizer build's size: three builds of every test
# binary filled CI's disk (2.5 GB debug, 6 GB asan-ubsan, uncompressed). Compressed debug sections
# (-gz, zlib) keep the same line tables and symbols for debuggers and sanitizer stack traces.
include(CheckCXXCompilerFlag)
include(CheckLinkerFlag)
check_cxx_compiler_flag(-gz OUTBOARD_HAS_GZ)
check_linker_flag(CXX -gz OUTBOARD_LINKER_HAS_GZ)
if(OUTBOARD_HAS_GZ AND OUTBOARD_LINKER_HAS_GZ)
  add_compile_options(-gz)
  add_link_options(-gz)
endif()
