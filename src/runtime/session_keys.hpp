#pragma once
// Cookie-signing keys from a file (`--session-keys-file`), never from argv, where every local
// user can read them (ps, /proc/PID/cmdline). One key per line, newest first (the first signs,
// all verify); blank lines and lines starting with '#' are ignored.
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace outboard::runtime {

// Raw keys from the file's text. Throws core::ConfigError naming `source`:line for a line that
// is not a key (without echoing it: it may be a key with a typo), or when there is no key at all.
std::vector<std::string> parse_session_keys(std::string_view text, std::string const& source);

// Reads and parses the file. Refuses (core::ConfigError) a file that group or others may read
// or write: a key others can read signs cookies for anyone, and a warning in a log is easily
// missed, so this is an error, as ssh does for private keys.
std::vector<std::string> load_session_keys_file(std::filesystem::path const& path);

}  // namespace outboard::runtime
