#pragma once
// What a handler sees: the request, its session, the path parameters, and the thread's services
// (stores, blob store, password hasher). Everything comes from the request or the store; nothing
// from process-global state.
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "http/message.hpp"
#include "io/http_server.hpp"
#include "runtime/auth_mode.hpp"
#include "runtime/client_address.hpp"
#include "runtime/router.hpp"
#include "runtime/session.hpp"
#include "runtime/throttle.hpp"
#include "state/job_queue.hpp"

namespace outboard::state {
class BlobStore;
}
namespace outboard::realtime {
class ThreadHub;
}
namespace outboard::actors {
class ActorHost;
class Relays;
}

namespace outboard::runtime {

class PasswordHasher;
class ThreadTokens;

// The game rooms of the process (GET /rooms/{id}, docs/ACTORS.md), shared by its threads.
struct RoomServices {
  actors::ActorHost& host;
  actors::Relays& relays;
  std::vector<std::string> allowed_origins;  // as realtime.allowed_origins: Origins besides the request's own host
};

// One worker thread's view of the service: its own store handles, plus shared thread-safe parts.
struct ThreadServices {
  std::string const& instance_id;
  state::Store& data;      // durable records: accounts, carts, orders, upload metadata, caches
  state::Store& sessions;  // session hashes
  state::BlobStore& blobs;
  PasswordHasher& hasher;
  core::Clock const& clock;
  ThrottlePolicy const& throttle;  // login and sign-up limits, counted in `data`
  AuthMode auth_mode = AuthMode::cookie;
  ThreadTokens* tokens = nullptr;  // access and refresh tokens; null when auth_mode is cookie
  realtime::ThreadHub* realtime = nullptr;  // this thread's rooms (GET /ws); null when realtime is off
  RoomServices* rooms = nullptr;            // game rooms (GET /rooms/{id}); null when actors are off
  // This thread's job queue (docs/JOBS.md); null when jobs are off.
  state::JobQueue* jobs = nullptr;
  // Wakes this process's job runner at once after an enqueue (else it finds the job at its next
  // poll); empty when jobs are off.
  std::function<void()> jobs_nudge{};
};

class RequestContext {
 public:
  RequestContext(http::Request const& request, Session& session, PathParams params,
                 ThreadServices& services, io::BodyStream* body = nullptr)
      : request_(request), session_(session), params_(std::move(params)), services_(services), body_(body) {}

  http::Request const& request() const { return request_; }
  Session& session() { return session_; }
  std::string const& param(std::string const& name) const { return params_.at(name); }
  ThreadServices& services() { return services_; }
  // The streamed body, for routes registered with a stream_limit; null otherwise.
  io::BodyStream* body() { return body_; }
  // The client's address (see runtime/client_address.hpp), for per-client limits. Worked out on
  // the first call, from what set_client_source() gave: only sign-up and login ask, so the other
  // routes never format an address. "unknown" without a source.
  std::string const& client_address() const {
    if (!client_address_) {
      client_address_ = source_ ? runtime::client_address(source_->peer, source_->forwarded_for, *source_->trusted)
                                : std::string(kUnknownClient);
    }
    return *client_address_;
  }
  // What client_address() reads; `forwarded_for` and `trusted` must outlive this context.
  struct ClientSource {
    std::optional<boost::asio::ip::address> peer;
    std::string_view forwarded_for;
    core::AddressBlocks const* trusted;
  };
  void set_client_source(ClientSource source) { source_ = source; }
  // For idempotent routes: an id derived from the user and the Idempotency-Key, the same on
  // every retry, so a handler can make "one thing per key" (an order) even if it runs twice.
  std::string const& idempotent_id() const { return idempotent_id_; }
  void set_idempotent_id(std::string id) { idempotent_id_ = std::move(id); }

  // Hands the connection to `takeover` once the handler answers 101 (a WebSocket); false when
  // the server offers no takeover (a test's direct call).
  bool take_over(io::Takeover takeover) {
    if (!takeover_) return false;
    *takeover_ = std::move(takeover);
    return true;
  }
  void set_takeover_slot(io::Takeover* slot) { takeover_ = slot; }

  // The verified access token this request carried (runtime/token_auth.hpp); null without one.
  BearerIdentity const* bearer() const { return bearer_ ? &*bearer_ : nullptr; }
  void set_bearer(BearerIdentity identity) { bearer_ = std::move(identity); }

  // The logged-in user: the bearer token's, else the session's; nullopt when anonymous. A store
  // error is an error, never "anonymous".
  state::Async<std::optional<std::string>> current_user() {
    if (bearer_) co_return std::optional<std::string>{bearer_->user()};
    auto user = co_await session_.get("user");
    co_return user;
  }

 private:
  http::Request const& request_;
  Session& session_;
  PathParams params_;
  ThreadServices& services_;
  io::BodyStream* body_;
  std::string idempotent_id_;
  std::optional<ClientSource> source_;
  mutable std::optional<std::string> client_address_;  // a cache: set once, by client_address()
  std::optional<BearerIdentity> bearer_;
  io::Takeover* takeover_ = nullptr;
};

}  // namespace outboard::runtime
