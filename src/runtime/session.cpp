#include "runtime/session.hpp"

#include <charconv>

#include "core/random.hpp"
#include "http/cookies.hpp"

namespace outboard::runtime {
namespace {

const std::string kCreated = "_created";
const std::string kTouched = "_touched";
constexpr std::size_t kIdBytes = 32;  // 256 bits from the CSPRNG

std::optional<std::int64_t> to_int(std::optional<std::string> const& text) {
  if (!text) return std::nullopt;
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
  if (ec != std::errc{} || p != text->data() + text->size()) return std::nullopt;
  return v;
}

std::optional<std::string> field(state::FieldMap const& fields, std::string const& name) {
  auto it = fields.find(name);
  if (it == fields.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> user_of(state::Fields const& fields) {
  std::optional<std::string> user;
  for (auto const& [f, v] : fields) {
    if (f == "user") user = v;  // the last write wins, as in the store
  }
  return user;
}

}  // namespace

std::string user_sessions_key(std::string_view user) { return "usess:{" + std::string(user) + "}"; }

state::Async<std::size_t> end_user_sessions(state::Store& store, std::string user) {
  std::string const index = user_sessions_key(user);
  auto ids = co_await store.hgetall(index);
  if (!ids) co_return ids.error();
  std::vector<std::string> seen;
  for (auto const& [id, created] : *ids) {
    if (auto r = co_await store.del("session:" + id); !r) co_return r.error();
    seen.push_back(id);
  }
  // Only the entries seen leave the index: a login racing this keeps its entry.
  if (!seen.empty()) {
    if (auto r = co_await store.hdel(index, seen); !r) co_return r.error();
  }
  co_return seen.size();
}

Session::Session(SessionEnv env, std::string_view cookie_header) : env_(env) {
  if (auto value = http::find_cookie(cookie_header, env_.policy.cookie_name)) {
    // A tampered or foreign cookie is simply no session: the request is anonymous.
    id_ = env_.signer.verify(*value);
  }
}

state::Async<void> Session::load() {
  if (loaded_) co_return state::Result<void>{};
  loaded_ = true;
  if (!id_) co_return state::Result<void>{};
  auto got = co_await env_.store.hgetall(key(*id_));
  if (!got) {
    loaded_ = false;  // a store failure is not "no session": the caller answers 503
    co_return got.error();
  }
  fields_ = std::move(*got);
  auto created = to_int(field(fields_, kCreated));
  auto touched = to_int(field(fields_, kTouched));
  std::int64_t now = env_.clock.now_ms();
  bool expired = !created || !touched || now - *created >= env_.policy.absolute_timeout.count() ||
                 now - *touched >= env_.policy.idle_timeout.count();
  if (expired) {
    if (!fields_.empty()) {
      // Gone by policy: remove it so it cannot come back. A failure here changes nothing for
      // this request (the session is treated as gone either way).
      co_await env_.store.del(key(*id_));
    }
    fields_.clear();
    live_ = false;
  } else {
    live_ = true;
  }
  co_return state::Result<void>{};
}

state::Async<bool> Session::exists() {
  if (auto r = co_await load(); !r) co_return r.error();
  co_return live_;
}

state::Async<std::optional<std::string>> Session::get(std::string name) {
  for (auto const& [f, v] : dirty_) {
    if (f == name) co_return std::optional<std::string>{v};
  }
  if (auto r = co_await load(); !r) co_return r.error();
  co_return field(fields_, name);
}

void Session::set(std::string name, std::string value) {
  for (auto& [f, v] : dirty_) {
    if (f == name) {
      v = std::move(value);
      return;
    }
  }
  dirty_.emplace_back(std::move(name), std::move(value));
}

void Session::set_cookie(http::Response& response, std::string const& id) const {
  http::CookieAttributes attrs;
  attrs.secure = env_.policy.secure_cookie;
  response.insert(http::bhttp::field::set_cookie,
                  http::set_cookie(env_.policy.cookie_name, env_.signer.sign(id), attrs));
}

void Session::clear_cookie(http::Response& response) const {
  http::CookieAttributes attrs;
  attrs.secure = env_.policy.secure_cookie;
  attrs.max_age_s = 0;
  response.insert(http::bhttp::field::set_cookie, http::set_cookie(env_.policy.cookie_name, "", attrs));
}

state::Async<void> Session::commit(http::Response& response) {
  auto ttl = env_.policy.idle_timeout;
  std::string now = std::to_string(env_.clock.now_ms());

  if (destroy_) {
    if (id_) {
      if (auto r = co_await env_.store.del(key(*id_)); !r) co_return r.error();
    }
    clear_cookie(response);
    co_return state::Result<void>{};
  }

  if (regenerate_) {
    // Fixation defence: whatever id the client came with, the logged-in session gets a new one.
    if (auto r = co_await load(); !r) co_return r.error();
    std::string new_id = core::random_token(kIdBytes);
    state::Fields all;
    for (auto const& [f, v] : fields_) {
      if (f != kCreated && f != kTouched) all.emplace_back(f, v);
    }
    for (auto& [f, v] : dirty_) all.emplace_back(std::move(f), std::move(v));
    all.emplace_back(kCreated, now);
    all.emplace_back(kTouched, now);
    if (auto user = user_of(all)) {
      state::Fields entry;
      entry.emplace_back(new_id, now);
      auto filed = co_await env_.store.hset(user_sessions_key(*user), std::move(entry), env_.policy.absolute_timeout);
      if (!filed) co_return filed.error();
    }
    if (auto r = co_await env_.store.hset(key(new_id), std::move(all), ttl); !r) co_return r.error();
    if (live_) co_await env_.store.del(key(*id_));  // best effort: it would expire anyway
    id_ = new_id;
    live_ = true;
    set_cookie(response, new_id);
    co_return state::Result<void>{};
  }

  if (!dirty_.empty()) {
    if (auto r = co_await load(); !r) co_return r.error();
    state::Fields writes = std::move(dirty_);
    writes.emplace_back(kTouched, now);
    if (!live_) {
      // First write: the session comes into being now.
      id_ = core::random_token(kIdBytes);
      writes.emplace_back(kCreated, now);
      set_cookie(response, *id_);
    }
    if (auto r = co_await env_.store.hset(key(*id_), std::move(writes), ttl); !r) co_return r.error();
    live_ = true;
    co_return state::Result<void>{};
  }

  if (loaded_ && live_) {
    auto touched = to_int(field(fields_, kTouched)).value_or(0);
    if (env_.clock.now_ms() - touched >= env_.policy.touch_interval.count()) {
      // Built outside the co_await: g++ 12 miscompiles braced init lists inside one.
      state::Fields touch;
      touch.emplace_back(kTouched, now);
      if (auto r = co_await env_.store.hset(key(*id_), std::move(touch), ttl); !r) co_return r.error();
    }
  }
  co_return state::Result<void>{};
}

}  // namespace outboard::runtime
