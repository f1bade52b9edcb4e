#include "auth/refresh_families.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

namespace outboard::auth {
namespace {

using state::Condition;
using state::Write;

// A live family's hash has exactly these three fields; an ended one has `ended` as a fourth.
// The conditional writes test the count, so "exists and not ended" is one condition.
const std::string kUser = "user";
const std::string kCreated = "created";
const std::string kExpires = "expires";
const std::string kEnded = "ended";
constexpr std::int64_t kLiveFamilyFields = 3;
// A token's hash: `issued` alone until it is rotated, then `used` too.
const std::string kIssued = "issued";
const std::string kUsed = "used";
constexpr std::int64_t kUnusedTokenFields = 1;

std::optional<std::int64_t> to_int(state::FieldMap const& fields, std::string const& name) {
  auto it = fields.find(name);
  if (it == fields.end()) return std::nullopt;
  std::int64_t v = 0;
  auto const& text = it->second;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || p != text.data() + text.size()) return std::nullopt;
  return v;
}

}  // namespace

std::string_view to_string(RefreshRefusal refusal) {
  switch (refusal) {
    case RefreshRefusal::malformed: return "malformed";
    case RefreshRefusal::unknown: return "unknown";
    case RefreshRefusal::expired: return "expired";
    case RefreshRefusal::ended: return "ended";
    case RefreshRefusal::reused: return "reused";
  }
  return "unknown";
}

struct RefreshFamilies::Family {
  std::string id;
  std::string user;
  std::int64_t expires_ms = 0;
  std::optional<std::string> ended;  // the reason, once over
};

RefreshFamilies::RefreshFamilies(state::Store& store, core::Clock const& clock, RefreshKey const& key,
                                 RefreshPolicy const& policy, RefreshCounters& counters,
                                 std::shared_ptr<spdlog::logger> log)
    : store_(store),
      clock_(clock),
      key_(key),
      policy_(policy),
      counters_(counters),
      log_(log ? std::move(log) : spdlog::default_logger()) {}

// Records live until the family's expiry plus the linger; at least a millisecond, so a write
// racing the very end of a family never makes a key without a TTL.
core::Millis RefreshFamilies::record_ttl(std::int64_t expires_ms) const {
  return core::Millis(std::max<std::int64_t>(1, expires_ms + policy_.linger.count() - clock_.now_ms()));
}

state::Async<IssuedRefresh> RefreshFamilies::issue(std::string user) {
  RefreshToken token = RefreshToken::first_of_new_family();
  std::int64_t now = clock_.now_ms();
  std::int64_t expires = now + policy_.family_lifetime.count();
  auto ttl = record_ttl(expires);

  // The index first: a family the index does not name could not be ended by "log out
  // everywhere", while an index entry without its family is merely skipped.
  state::Fields entry;
  entry.emplace_back(token.family, std::to_string(expires));
  if (auto r = co_await store_.hset(user_families_key(user), std::move(entry), ttl); !r) co_return r.error();

  std::string const fkey = family_key(token.family);
  std::vector<Condition> conditions{Condition::absent(fkey)};
  std::vector<Write> writes{Write::hset(fkey, kUser, user, ttl), Write::hset(fkey, kCreated, std::to_string(now), ttl),
                            Write::hset(fkey, kExpires, std::to_string(expires), ttl),
                            Write::hset(token_key(token.family, token.digest()), kIssued, std::to_string(now), ttl)};
  auto created = co_await store_.commit_if(std::move(conditions), std::move(writes));
  if (!created) co_return created.error();
  // 128 random bits colliding: the CSPRNG is broken, not the request.
  if (!*created) co_return core::make_error(core::Errc::internal, "a new refresh family id exists already");
  counters_.issued.fetch_add(1, std::memory_order_relaxed);
  co_return IssuedRefresh{token.text(), token.family, std::move(user), expires};
}

state::Async<std::optional<RefreshFamilies::Family>> RefreshFamilies::read_family(std::string const& family) {
  auto fields = co_await store_.hgetall(family_key(family));
  if (!fields) co_return fields.error();
  if (fields->empty()) co_return std::optional<Family>{};
  auto expires = to_int(*fields, kExpires);
  auto user = fields->find(kUser);
  if (!expires || user == fields->end()) {
    co_return core::make_error(core::Errc::internal, "damaged refresh family record " + family);
  }
  Family found{family, user->second, *expires, std::nullopt};
  if (auto ended = fields->find(kEnded); ended != fields->end()) found.ended = ended->second;
  co_return std::optional<Family>{std::move(found)};
}

RotateOutcome RefreshFamilies::refuse(RefreshRefusal why) {
  counters_.refused.fetch_add(1, std::memory_order_relaxed);
  return RotateOutcome{why};
}

state::Async<RotateOutcome> RefreshFamilies::rotate(std::string text) {
  auto token = RefreshToken::parse(text);
  if (!token) co_return refuse(RefreshRefusal::malformed);
  // A second round only when the reads after a lost write contradict it (a near-cache copy
  // not yet invalidated); by then our own re-read or Redis's message has caught up.
  for (int round = 0; round < 3; ++round) {
    auto outcome = co_await rotate_once(*token);
    if (!outcome) co_return outcome.error();
    if (*outcome) co_return std::move(**outcome);
  }
  co_return core::make_error(core::Errc::unavailable, "refresh family " + token->family + " keeps changing");
}

state::Async<std::optional<RotateOutcome>> RefreshFamilies::rotate_once(RefreshToken const& token) {
  using Outcome = std::optional<RotateOutcome>;
  auto family = co_await read_family(token.family);
  if (!family) co_return family.error();
  if (!*family) co_return Outcome{refuse(RefreshRefusal::unknown)};
  if ((*family)->ended) co_return Outcome{refuse(RefreshRefusal::ended)};
  std::int64_t now = clock_.now_ms();
  if (now >= (*family)->expires_ms) co_return Outcome{refuse(RefreshRefusal::expired)};

  // The decision: one conditional write. What was read above only chose the reason for a
  // refusal; whether this token may rotate is decided here, atomically, in the store.
  RefreshToken next = token.successor(key_);
  auto ttl = record_ttl((*family)->expires_ms);
  std::string const used_key = token_key(token.family, token.digest());
  std::vector<Condition> conditions{Condition::hash_len(family_key(token.family), kLiveFamilyFields),
                                    Condition::hash_len(used_key, kUnusedTokenFields)};
  std::vector<Write> writes{Write::hset(used_key, kUsed, std::to_string(now), ttl),
                            Write::hset(token_key(next.family, next.digest()), kIssued, std::to_string(now), ttl)};
  auto won = co_await store_.commit_if(std::move(conditions), std::move(writes));
  if (!won) co_return won.error();
  if (*won) {
    counters_.rotated.fetch_add(1, std::memory_order_relaxed);
    co_return Outcome{IssuedRefresh{next.text(), next.family, (*family)->user, (*family)->expires_ms}};
  }
  co_return co_await after_lost_race(token, **family);
}

// The conditional write failed: the family ended meanwhile, the token is not one of ours, or it
// was rotated already, by a racing request (within the grace: answer with the same successor)
// or long ago (a replay: end the family). nullopt: what is read contradicts the failed write.
state::Async<std::optional<RotateOutcome>> RefreshFamilies::after_lost_race(RefreshToken const& token,
                                                                           Family const& family) {
  using Outcome = std::optional<RotateOutcome>;
  auto now_family = co_await read_family(family.id);
  if (!now_family) co_return now_family.error();
  if (!*now_family) co_return Outcome{refuse(RefreshRefusal::unknown)};
  if ((*now_family)->ended) co_return Outcome{refuse(RefreshRefusal::ended)};

  auto record = co_await store_.hgetall(token_key(token.family, token.digest()));
  if (!record) co_return record.error();
  if (record->empty()) co_return Outcome{refuse(RefreshRefusal::unknown)};
  auto used = to_int(*record, kUsed);
  // Live family and an unused token, yet the write's conditions failed: a stale copy.
  if (!used) co_return Outcome{};

  std::int64_t age = clock_.now_ms() - *used;
  if (age <= policy_.grace.count()) {
    RefreshToken next = token.successor(key_);
    // The winner wrote it in the same step as `used`; absent only when the winner derived it
    // with another refresh key (a key change racing this request).
    auto issued = co_await store_.hget(token_key(next.family, next.digest()), kIssued);
    if (!issued) co_return issued.error();
    if (!*issued) co_return Outcome{refuse(RefreshRefusal::unknown)};
    counters_.grace_replays.fetch_add(1, std::memory_order_relaxed);
    co_return Outcome{IssuedRefresh{next.text(), next.family, family.user, family.expires_ms}};
  }

  auto ended = co_await end(family.id, "reuse");
  if (!ended) co_return ended.error();
  if (*ended) {
    // Once per family: only the request whose write ended it logs and counts.
    counters_.reuse_revocations.fetch_add(1, std::memory_order_relaxed);
    nlohmann::json line{{"event", "refresh_token_reuse"}, {"family", family.id}, {"user", family.user},
                        {"rotated_ms_ago", age}, {"action", "family ended"}};
    log_->warn("{}", line.dump());
    if (auto r = co_await forget_in_index(family.user, family.id); !r) co_return r.error();
  } else {
    counters_.refused.fetch_add(1, std::memory_order_relaxed);  // ended by someone else just now
  }
  co_return Outcome{RotateOutcome{RefreshRefusal::reused}};
}

// Ends a live family; false when it was gone or over already. Its records stay until their TTL,
// so its tokens are answered `ended` and a replay is still recognised.
state::Async<bool> RefreshFamilies::end(std::string const& family, std::string_view reason) {
  std::string const fkey = family_key(family);
  std::vector<Condition> conditions{Condition::hash_len(fkey, kLiveFamilyFields)};
  std::vector<Write> writes{Write::hset(fkey, kEnded, std::string(reason))};
  co_return co_await store_.commit_if(std::move(conditions), std::move(writes));
}

state::Async<void> RefreshFamilies::forget_in_index(std::string const& user, std::string const& family) {
  std::vector<std::string> fields{family};
  auto removed = co_await store_.hdel(user_families_key(user), std::move(fields));
  if (!removed) co_return removed.error();
  co_return state::Result<void>{};
}

state::Async<bool> RefreshFamilies::end_family(std::string text) {
  auto token = RefreshToken::parse(text);
  if (!token) co_return false;
  // Only a token of the family may end it: knowing a family id alone (it is in log lines) must
  // not log anyone out.
  auto record = co_await store_.hgetall(token_key(token->family, token->digest()));
  if (!record) co_return record.error();
  if (record->empty()) co_return false;
  auto family = co_await read_family(token->family);
  if (!family) co_return family.error();
  if (!*family) co_return false;
  auto ended = co_await end(token->family, "logout");
  if (!ended) co_return ended.error();
  if (auto r = co_await forget_in_index((*family)->user, token->family); !r) co_return r.error();
  co_return *ended;
}

state::Async<bool> RefreshFamilies::end_family_of(std::string family, std::string user) {
  auto record = co_await read_family(family);
  if (!record) co_return record.error();
  if (!*record || (*record)->user != user) co_return false;
  auto ended = co_await end(family, "logout");
  if (!ended) co_return ended.error();
  if (auto r = co_await forget_in_index(user, family); !r) co_return r.error();
  co_return *ended;
}

state::Async<std::size_t> RefreshFamilies::end_all_families(std::string user) {
  auto index = co_await store_.hgetall(user_families_key(user));
  if (!index) co_return index.error();
  std::size_t live = 0;
  std::vector<std::string> done;
  for (auto const& [family, expires] : *index) {
    auto ended = co_await end(family, "logout_all");
    if (!ended) co_return ended.error();
    if (*ended) ++live;
    done.push_back(family);
  }
  // Only the families seen here leave the index: one made by a login meanwhile stays in it.
  if (!done.empty()) {
    auto removed = co_await store_.hdel(user_families_key(user), std::move(done));
    if (!removed) co_return removed.error();
  }
  co_return live;
}

}  // namespace outboard::auth
