#pragma once
// Whether anyone holds the write lock of the cluster's embedded store (its SQLite file).
//
// Why the lab needs it: a `hang` fault freezes a server with SIGSTOP. If the server is frozen
// inside a SQLite write transaction, it keeps the file's one write lock: every other server waits
// for it, nobody can take its job over, and the fault shows a stalled cluster instead of what it is
// meant to show (a lease running out while its holder sleeps). The lab asks this probe, and then
// thaws the server and aims again (lab_runner.cpp, docs/LAB.md "The mid-job target"). Tests that
// freeze a server on sqlite ask it too (tests/support/stop_outside_a_write.hpp).
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <filesystem>

namespace outboard::lab {

enum class WriteLock {
  free,     // the probe took the lock (and let go at once)
  held,     // someone else held it
  unknown,  // the file could not be opened: nothing can be said
};

// One try: `BEGIN IMMEDIATE` without waiting, rolled back at once when it succeeds.
WriteLock try_sqlite_write_lock(std::filesystem::path const& database);

// Tries every `every` until the lock is free or `within` passes (then: held). Each try holds the
// lock for microseconds; between tries the event loop goes on.
boost::asio::awaitable<WriteLock> probe_sqlite_write_lock(std::filesystem::path database,
                                                          std::chrono::milliseconds within,
                                                          std::chrono::milliseconds every);

}  // namespace outboard::lab
