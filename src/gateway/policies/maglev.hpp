#pragma once
// Maglev consistent hashing (Eisenbud et al., NSDI 2016): a lookup table of prime size M in which
// each backend holds a share of slots proportional to its weight. A key hashes to a slot. When one
// of n backends leaves, the table changes in little more than that backend's ~1/n of the slots,
// and the spread stays even (unlike a hash ring, which needs many virtual nodes for that).
//
// Exposed apart from the balancer so tests (and the docs) can measure the remap fraction.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "core/stable_hash.hpp"
#include "gateway/balancer.hpp"

namespace outboard::gateway {

// Prime, and large against the number of backends (the paper asks M > 100 n for a spread within
// ~1%). Each balancer's table costs M × 2 bytes = 128 KiB per worker thread and route.
inline constexpr std::size_t kMaglevTableSize = 65537;

// Table entries are candidate indices; uint16_t halves the memory, so one table names at most
// 65535 backends (a pool that size would need a far larger M anyway).
using MaglevEntry = std::uint16_t;
inline constexpr std::size_t kMaglevMaxBackends = 65535;

// The same in every process: what the table and the key's slot are made from.
using core::stable_hash;

// The table for `candidates`: every candidate with weight > 0 fills slots in proportion to its
// weight (availability is not looked at; the caller chooses who is in). Each entry is an index
// into `candidates`. Empty when no candidate has weight, table_size is not prime (the
// permutations would not cover the table), or there are more than kMaglevMaxBackends
// candidates. Cost: O(M log M) expected time, O(M + n) memory.
std::vector<MaglevEntry> build_maglev_table(std::span<Candidate const> candidates,
                                            std::size_t table_size = kMaglevTableSize);

// The slot a key starts from.
std::size_t maglev_slot(std::string_view key, std::size_t table_size);

// How far a key walks forward from its slot when the backend there is unusable, in [1, M-1].
// With M prime, slot, slot + step, slot + 2 step, ... (mod M) visits every slot once. The step
// depends on the key because Maglev tables have runs (a backend with a small skip claims
// neighbouring slots), so a +1 walk hands a down backend's keys to whoever owns the slots just
// after its own: measured on 10 equal backends, two of the nine got ~40% less than a fair share.
// A per-key step lands on an effectively random slot, so the keys spread by slot share.
std::size_t maglev_step(std::string_view key, std::size_t table_size);

}  // namespace outboard::gateway
