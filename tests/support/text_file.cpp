#include "support/text_file.hpp"

#include <fstream>

namespace outboard::testing {

std::string write_file(TempDir const& dir, std::string const& name, std::string const& text) {
  auto path = dir / name;
  std::ofstream(path) << text;
  return path.string();
}

}  // namespace outboard::testing
