# Warnings on everywhere; errors in CI (OUTBOARD_WERROR). Applied to our targets only, through
# outboard_options, so third-party headers (included as SYSTEM) do not trip them.
add_library(outboard_options INTERFACE)
target_compile_options(outboard_options INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Wunused -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough
  $<$<BOOL:${OUTBOARD_WERROR}>:-Werror>)
# Asio: no deprecated APIs, and a completion-token friendly default.
target_compile_definitions(outboard_options INTERFACE
  BOOST_ASIO_NO_DEPRECATED BOOST_ASIO_DISABLE_CONCEPTS
  OUTBOARD_VERSION="${PROJECT_VERSION}")
if(OUTBOARD_SANITIZE)
  target_compile_options(outboard_options INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer
    -fno-sanitize-recover=undefined)
  target_link_options(outboard_options INTERFACE -fsanitize=address,undefined)
endif()
