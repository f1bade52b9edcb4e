#pragma once
// Secrets (signing keys, tokens) come from files, never from argv, where every local user can
// read them in /proc. These helpers read such a file strictly and create one safely.
#include <filesystem>
#include <string>

namespace outboard::core {

// The file's contents with surrounding whitespace trimmed. Throws std::runtime_error naming the
// file when it cannot be read, is empty, or is readable or writable by group or others.
std::string read_secret_file(std::filesystem::path const& path);

// Creates `path` holding `contents` with mode 0600 (its directory, when missing, with 0700),
// failing if it already exists, so two processes starting at once cannot both write it: the
// loser reads the winner's. Returns false when the file existed already. Throws
// std::runtime_error naming the file on any other failure.
bool create_secret_file(std::filesystem::path const& path, std::string const& contents);

}  // namespace outboard::core
