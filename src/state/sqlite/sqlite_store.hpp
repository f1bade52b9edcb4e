#pragma once
// sqlite://PATH: the embedded default. Several processes on one host share the file safely:
// WAL journal, a busy timeout, and every multi-statement operation inside one transaction.
// Statements run on the provider's own small thread pool, never on an event-loop thread.
#include <memory>
#include <string>

#include "state/store.hpp"

namespace outboard::state {

// Opens (creating if needed) the database file and its schema; throws std::runtime_error naming
// the path if it cannot. One store shared by every worker thread of the process.
std::unique_ptr<StoreProvider> make_sqlite_provider(std::string const& path, StoreOptions const& options);

}  // namespace outboard::state
