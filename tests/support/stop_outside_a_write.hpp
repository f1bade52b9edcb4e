#pragma once
// SIGSTOP a server at a moment it holds no sqlite write lock. A server stopped inside a write
// transaction (a claim poll, a lease renewal, a member announcement) holds every other process's
// writes for as long as it stays stopped: sqlite's nature, not what a test of a paused server
// means to show (seen in CI: ServeJobsPaused; the lab does the same for its hangs).
#include <filesystem>
#include <optional>

#include "support/serve_process.hpp"

namespace outboard::testing {

// Stops `serve` and waits until every one of its threads is stopped; when `sqlite_file` is given
// and the stopped server holds its write lock, resumes it and tries again (a bounded number of
// times). Without a file (redis), the first stop is kept. False, with a test failure added, when
// it could not: call it as ASSERT_TRUE(stop_outside_a_write(...)).
[[nodiscard]] bool stop_outside_a_write(ServeProcess& serve, std::optional<std::filesystem::path> const& sqlite_file);

}  // namespace outboard::testing
