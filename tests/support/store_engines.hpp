#pragma once
// Engines too slow to start once per test (a 6-node Redis Cluster, a PostgreSQL cluster): one per
// test process, started on first use on free loopback ports in a temp dir, stopped (by pid) when
// the process exits. Each call first empties the engine, so a test starts from nothing.
// Fails the test (never skips) when the engine's binaries are missing.
#include <string>

namespace outboard::testing {

// redis-cluster://127.0.0.1:P1,127.0.0.1:P2,... (3 masters, 3 replicas), every key removed.
std::string fresh_redis_cluster_url();

// postgres://USER@127.0.0.1:PORT/DB for a database of its own, every table emptied.
std::string fresh_postgres_url();

}  // namespace outboard::testing
