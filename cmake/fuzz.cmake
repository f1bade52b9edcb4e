# libFuzzer builds (OUTBOARD_FUZZ, clang only). Every target is compiled with coverage hooks
# (-fsanitize=fuzzer-no-link) so the fuzzer sees which branches of OUR code an input reached;
# only the fuzz executables link libFuzzer's main (-fsanitize=fuzzer, in tests/fuzz/).
# The hooks resolve to the sanitizer runtime's no-op defaults in every other binary, so the
# normal tests of the same build still link and run.
if(OUTBOARD_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "OUTBOARD_FUZZ needs clang (libFuzzer): configure with -DCMAKE_CXX_COMPILER=clang++-14")
  endif()
  if(NOT OUTBOARD_SANITIZE)
    message(FATAL_ERROR "OUTBOARD_FUZZ needs OUTBOARD_SANITIZE=ON: a fuzzer without ASan+UBSan misses most bugs")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
