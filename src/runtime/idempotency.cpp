#include "runtime/idempotency.hpp"

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include "core/random.hpp"
#include "http/json_text.hpp"

namespace outboard::runtime {
namespace {

// SHA-256 fetched from OpenSSL's provider once: EVP_sha256() makes EVP_Digest fetch it again on
// every call (a name lookup under a lock, about a quarter of each digest's cost). Immutable after
// the first call (a thread-safe static), freed by OpenSSL at exit.
EVP_MD const* sha256_algorithm() {
  static EVP_MD const* const fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return fetched ? fetched : EVP_sha256();
}

std::string sha256(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, sha256_algorithm(), nullptr);
  return std::string(reinterpret_cast<char*>(digest), len);
}

// Headers of the first answer that a replay must carry.
constexpr http::bhttp::field kKeptHeaders[] = {http::bhttp::field::content_type, http::bhttp::field::location};

http::Response replay(nlohmann::json const& record) {
  http::Response res{static_cast<http::Status>(record.value("status", 500)), 11};
  nlohmann::json headers = record.value("headers", nlohmann::json::object());  // named: items() must not outlive it
  for (auto const& [name, value] : headers.items()) {
    res.set(name, value.get<std::string>());
  }
  res.body() = record.value("body", "");
  res.set("Idempotent-Replayed", "true");
  res.prepare_payload();
  return res;
}

}  // namespace

std::optional<std::string> check_idempotency_key(std::string_view key) {
  if (key.empty()) return "the Idempotency-Key header is empty";
  if (key.size() > 255) return "the Idempotency-Key is longer than 255 characters";
  for (char c : key) {
    if (c < 0x21 || c > 0x7e) return "the Idempotency-Key must be printable ASCII without spaces";
  }
  return std::nullopt;
}

std::string request_fingerprint(http::Request const& request) {
  // The whole target: a query string changes what is asked (POST /checkout?coupon=X).
  std::string material(request.method_string());
  material += ' ';
  material += request.target();
  material += '\n';
  material += request.body();
  return core::hex_encode(sha256(material));
}

IdempotentCall::IdempotentCall(state::Store& store, IdempotencyPolicy const& policy, std::string const& user,
                               std::string_view key, std::string fingerprint, std::string claim_token)
    : store_(store), policy_(policy), fingerprint_(std::move(fingerprint)) {
  // Hashing keeps store keys short whatever the client sends; the user's name in a "{tag}"
  // keeps one user's keys on one Redis Cluster slot.
  std::string scoped = user + '\n' + std::string(key);
  std::string digest = sha256(scoped);
  record_key_ = "idem:{" + user + "}:" + core::base64url_encode(digest);
  derived_id_ = core::base64url_encode(std::string_view(digest).substr(0, 16));
  if (claim_token.empty()) claim_token = core::random_token(12);
  // Written out, not built as a json object: the same text nlohmann would make (its keys sorted),
  // without a map per request.
  running_record_.reserve(48 + fingerprint_.size() + claim_token.size());
  running_record_ = R"({"fp":)";
  http::append_json_string(running_record_, fingerprint_);
  running_record_ += R"(,"state":"running","token":)";
  http::append_json_string(running_record_, claim_token);
  running_record_ += '}';
}

state::Async<IdempotentCall::Outcome> IdempotentCall::begin() {
  // Two rounds at most: a record can expire between a failed claim and the read that follows.
  for (int round = 0; round < 2; ++round) {
    auto claimed = co_await store_.set_if_absent(record_key_, running_record_, policy_.lease);
    if (!claimed) co_return claimed.error();
    if (*claimed) co_return Outcome{Proceed{}};

    auto existing = co_await store_.get(record_key_);
    if (!existing) co_return existing.error();
    if (!*existing) continue;
    auto record = nlohmann::json::parse(**existing, nullptr, false);
    if (record.is_discarded() || !record.is_object()) {
      co_return core::make_error(core::Errc::internal, "damaged idempotency record");
    }
    if (record.value("fp", "") != fingerprint_) {
      co_return Outcome{http::json_error(http::Status::unprocessable_entity, "idempotency_key_reused",
                                         "this Idempotency-Key was used with a different request (method, path, query or body)")};
    }
    if (record.value("state", "") == "running") {
      auto res = http::json_error(http::Status::conflict, "request_in_progress",
                                  "a request with this Idempotency-Key is still running; retry shortly");
      res.set(http::bhttp::field::retry_after, "1");
      co_return Outcome{std::move(res)};
    }
    co_return Outcome{replay(record)};
  }
  co_return core::make_error(core::Errc::unavailable, "the idempotency record keeps changing");
}

state::Async<void> IdempotentCall::finish(http::Response const& response) {
  if (response.result_int() >= 500) {
    // Failed: release the claim so a retry may run. (Were our lease already gone and the key
    // taken by another run, this would release theirs early: the cost is a possible second run
    // of a handler that is safe to re-run, never a lost answer.)
    auto released = co_await store_.del(record_key_);
    if (!released) co_return released.error();
    co_return state::Result<void>{};
  }
  // {"body","fp","headers","state","status"}: what replay() reads, written out (as nlohmann would,
  // keys sorted) rather than built as json objects first.
  // Appended in place into one buffer sized for the usual case (a body with a few escapes).
  std::string done;
  done.reserve(response.body().size() * 5 / 4 + fingerprint_.size() + 160);
  done = R"({"body":)";
  http::append_json_string(done, response.body());
  done += R"(,"fp":)";
  http::append_json_string(done, fingerprint_);
  done += R"(,"headers":{)";
  bool first = true;
  for (auto field : kKeptHeaders) {
    auto it = response.find(field);
    if (it == response.end()) continue;
    if (!first) done += ',';
    first = false;
    http::append_json_string(done, std::string_view(it->name_string().data(), it->name_string().size()));
    done += ':';
    http::append_json_string(done, std::string_view(it->value().data(), it->value().size()));
  }
  done += R"(},"state":"done","status":)";
  done += std::to_string(response.result_int());
  done += '}';
  // Only over our own claim: if our lease ran out and another run took the key, theirs stands.
  auto swapped = co_await store_.compare_and_set(record_key_, running_record_, std::move(done), policy_.retention);
  if (!swapped) co_return swapped.error();
  co_return state::Result<void>{};
}

}  // namespace outboard::runtime
