#pragma once
// A request's view of its session. The session lives in the store as one hash,
// "session:<id>", so any instance can serve it:
//   - created in the store only when something is first written to it;
//   - loaded lazily, on the first read;
//   - written field by field, only the fields that changed, so parallel requests on one session
//     never lose each other's writes (each field write is atomic in the store);
//   - touched (a rolling idle TTL) at most once per touch interval, not on every request;
//   - regenerated on login (a new id, against fixation), destroyed on logout;
//   - idle and absolute timeouts enforced here, by the injected clock, not only by store TTLs.
// Meta fields start with '_' ("_created", "_touched"); application fields must not.
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "core/clock.hpp"
#include "http/message.hpp"
#include "runtime/cookie_signer.hpp"
#include "state/store.hpp"

namespace outboard::runtime {

struct SessionPolicy {
  std::string cookie_name = "ob_session";
  bool secure_cookie = false;
  core::Millis idle_timeout{30 * 60 * 1000};
  core::Millis absolute_timeout{24 * 60 * 60 * 1000};
  // Rolling expiry is refreshed when the last touch is older than this: a store write per
  // request would double the cost of every read-only request.
  core::Millis touch_interval{60 * 1000};
};

// Everything a Session needs, shared by the requests of one worker thread.
struct SessionEnv {
  state::Store& store;
  CookieSigner const& signer;
  SessionPolicy const& policy;
  core::Clock const& clock;
};

// The user's index of cookie sessions, "usess:{user}" (session id -> login time in ms), written
// at each login, so "log out everywhere" can find every session of a user. Its TTL, renewed at
// each login, is the absolute timeout: no session it names outlives it.
std::string user_sessions_key(std::string_view user);
// Log out everywhere: deletes every session in `user`'s index; returns how many it named.
state::Async<std::size_t> end_user_sessions(state::Store& store, std::string user);

class Session {
 public:
  // cookie_header: the request's Cookie header (may be empty).
  Session(SessionEnv env, std::string_view cookie_header);

  // Whether a live session exists (loads it on first call).
  state::Async<bool> exists();
  // A field's value; nullopt when unset or when there is no session.
  state::Async<std::optional<std::string>> get(std::string field);
  // Buffers a write; it reaches the store in commit().
  void set(std::string field, std::string value);
  // A new id for the same content (call on login); the old id stops working.
  void regenerate() { regenerate_ = true; }
  // Ends the session in the store and clears the cookie.
  void destroy() { destroy_ = true; }

  // Writes what changed and puts the Set-Cookie on the response when the id changed. A login
  // (regenerate with a "user" field) is also filed in the user's index, before the session
  // itself, so no session exists that the index does not name.
  state::Async<void> commit(http::Response& response);

  // The id, once there is one (tests and logs).
  std::optional<std::string> const& id() const { return id_; }

 private:
  state::Async<void> load();
  std::string key(std::string const& id) const { return "session:" + id; }
  void set_cookie(http::Response& response, std::string const& id) const;
  void clear_cookie(http::Response& response) const;

  SessionEnv env_;
  std::optional<std::string> id_;  // from a verified cookie, or freshly made
  bool loaded_ = false;
  bool live_ = false;  // the store holds a live session under id_
  state::FieldMap fields_;
  state::Fields dirty_;
  bool regenerate_ = false;
  bool destroy_ = false;
};

}  // namespace outboard::runtime
