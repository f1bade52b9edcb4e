#include "gateway/policies/maglev.hpp"

#include <algorithm>
#include <limits>

#include "gateway/policies/xorshift.hpp"

namespace outboard::gateway {
namespace {

// Fixed forever: changing any of these moves every key to another backend on upgrade.
constexpr std::uint64_t kOffsetSeed = 0x6d61676c65762d6fULL;  // "maglev-o"
constexpr std::uint64_t kSkipSeed = 0x6d61676c65762d73ULL;    // "maglev-s"
constexpr std::uint64_t kKeySeed = 0x6d61676c65762d6bULL;     // "maglev-k"
constexpr std::uint64_t kStepSeed = 0x6d61676c65762d77ULL;    // "maglev-w"

// One backend's walk through its permutation: slot j is (offset + j × skip) mod M. M prime and
// 0 < skip < M make that a permutation of all M slots, so a backend always finds a free slot.
struct Walk {
  std::uint64_t position;
  std::uint64_t skip;
  std::uint64_t credit = 0;
};

// Trial division: at most sqrt(M) ≈ 256 steps for the default size, noise next to the build.
bool is_prime(std::uint64_t n) {
  if (n < 2) return false;
  for (std::uint64_t d = 2; d * d <= n; ++d) {
    if (n % d == 0) return false;
  }
  return true;
}

}  // namespace

std::size_t maglev_slot(std::string_view key, std::size_t table_size) {
  return table_size == 0 ? 0 : static_cast<std::size_t>(stable_hash(key, kKeySeed) % table_size);
}

std::size_t maglev_step(std::string_view key, std::size_t table_size) {
  return table_size < 2 ? 1 : static_cast<std::size_t>(stable_hash(key, kStepSeed) % (table_size - 1) + 1);
}

std::vector<MaglevEntry> build_maglev_table(std::span<Candidate const> candidates, std::size_t table_size) {
  // A composite size would let a skip share a factor with M: that walk would cycle through a
  // subset of slots and, once those are taken, never end.
  if (!is_prime(table_size) || candidates.size() > kMaglevMaxBackends) return {};
  std::uint64_t const m = table_size;

  std::uint32_t max_weight = 0;
  for (Candidate const& c : candidates) max_weight = std::max(max_weight, c.weight);
  if (max_weight == 0) return {};

  std::vector<Walk> walks;
  walks.reserve(candidates.size());
  for (Candidate const& c : candidates) {
    walks.push_back(Walk{stable_hash(c.id, kOffsetSeed) % m, stable_hash(c.id, kSkipSeed) % (m - 1) + 1});
  }

  constexpr MaglevEntry kEmpty = std::numeric_limits<MaglevEntry>::max();  // never an index
  std::vector<MaglevEntry> table(table_size, kEmpty);
  std::size_t filled = 0;
  // Backends claim slots in the order of their ids, not of the list: two gateways that learned
  // the same backends in another order (from a registry, a reload, the admin API) must build the
  // same table, or one key would land on different servers through each (docs/TRUTH.md).
  std::vector<std::size_t> order(candidates.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return candidates[a].id < candidates[b].id; });
  // Weighted population: per round each backend earns its weight in credit and claims one slot
  // per max_weight of credit, so the heaviest claims one slot a round and the others claim in
  // proportion, interleaved (the paper's equal-weight loop when all weights match). A round
  // claims at least one slot, so this ends after at most M rounds.
  while (filled < table_size) {
    for (std::size_t i : order) {
      if (filled == table_size) break;
      Walk& walk = walks[i];
      walk.credit += candidates[i].weight;
      while (walk.credit >= max_weight && filled < table_size) {
        walk.credit -= max_weight;
        // Skip slots already taken; the permutation reaches every slot, so this ends.
        while (table[walk.position] != kEmpty) walk.position = (walk.position + walk.skip) % m;
        table[walk.position] = static_cast<MaglevEntry>(i);
        walk.position = (walk.position + walk.skip) % m;
        ++filled;
      }
    }
  }
  return table;
}

}  // namespace outboard::gateway
