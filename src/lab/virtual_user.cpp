#include "lab/virtual_user.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>

namespace outboard::lab {
namespace {

namespace asio = boost::asio;
using verb = boost::beast::http::verb;
using nlohmann::json;

constexpr int kSkus = 10;  // the shop's catalog: sku-001 .. sku-010

// What a browser-side client may safely send again: nothing reached a server that answered,
// or the answer says "not now" (a gateway or a store in trouble, a retry still running).
bool retriable(Reply const& reply) {
  if (reply.failure != Failure::none) return true;
  if (reply.status == 502 || reply.status == 503 || reply.status == 504) return true;
  return reply.status == 409 && reply.body.find("request_in_progress") != std::string::npos;
}

// The answer's JSON body; anything else reads as an empty object, so a malformed answer shows
// up as missing data in the ledger rather than as an exception in the lab.
json body_json(Reply const& reply) {
  auto doc = json::parse(reply.body, nullptr, false);
  return doc.is_object() ? doc : json::object();
}

json member(json const& doc, char const* key) {
  if (!doc.is_object()) return json();
  auto it = doc.find(key);
  return it == doc.end() ? json() : *it;
}

std::string text_of(json const& doc, char const* key) {
  json value = member(doc, key);
  return value.is_string() ? value.get<std::string>() : std::string();
}

// Line ids of an order or a cart document's "lines" array.
std::vector<std::string> line_ids(json const& lines) {
  std::vector<std::string> out;
  if (!lines.is_array()) return out;
  for (auto const& line : lines) out.push_back(text_of(line, "line_id"));
  return out;
}

}  // namespace

std::int64_t lab_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

VirtualUser::VirtualUser(asio::any_io_executor executor, int index, UserSettings const& settings, RunStats& stats,
                         StopFlag const& stop, std::uint64_t seed)
    : executor_(executor),
      index_(index),
      settings_(settings),
      stats_(stats),
      stop_(stop),
      agent_(settings.gateway_ports.empty()
                 ? UserAgent(executor, settings.gateway_port, settings.request_timeout)
                 : UserAgent(executor, settings.gateway_ports, static_cast<std::size_t>(index), settings.request_timeout)),
      rng_(seed),
      name_(fmt::format("{}u{}", settings.name_prefix, index)),
      password_(fmt::format("pw-{:016x}", rng_())) {
  agent_.set_device(name_);
}

std::int64_t VirtualUser::random_between(std::int64_t lo, std::int64_t hi) {
  std::uniform_int_distribution<std::int64_t> pick(lo, std::max(lo, hi));
  return pick(rng_);
}

std::string VirtualUser::next_key() { return fmt::format("{}-k{}", name_, ++keys_issued_); }

Call VirtualUser::json_post(std::string target, std::string body) const {
  Call call;
  call.method = verb::post;
  call.target = std::move(target);
  call.body = std::move(body);
  call.content_type = "application/json";
  return call;
}

asio::awaitable<void> VirtualUser::pause(std::chrono::milliseconds how_long) {
  asio::steady_timer timer(executor_, how_long);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

asio::awaitable<void> VirtualUser::think() {
  std::chrono::milliseconds how_long(random_between(settings_.think_min.count(), settings_.think_max.count()));
  co_await pause(how_long);
}

asio::awaitable<VirtualUser::Outcome> VirtualUser::request(Call call) {
  Outcome out;
  auto started = std::chrono::steady_clock::now();
  std::chrono::milliseconds backoff(100);
  for (;;) {
    ++out.attempts;
    out.reply = co_await agent_.send(call);
    stats_.record_attempt(lab_now_ms(), out.reply);
    for (; moves_counted_ < agent_.moves(); ++moves_counted_) stats_.record_gateway_move(index_);
    if (!retriable(out.reply)) break;
    if (out.attempts >= settings_.max_attempts && std::chrono::steady_clock::now() - started >= settings_.retry_window) {
      out.gave_up = true;
      break;
    }
    stats_.record_retry();
    // Exponential backoff with jitter, capped at one second: 8 attempts and at least 6 s, enough
    // to ride out a crash, a hung server's 1.5 s gateway timeout, a store restart or a failover.
    auto jittered = std::chrono::milliseconds(random_between(backoff.count() / 2, backoff.count()));
    co_await pause(jittered);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
  }
  auto waited = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started);
  bool answered = !out.gave_up && out.reply.failure == Failure::none && out.reply.status < 500;
  stats_.record_request(lab_now_ms(), waited.count(), answered);
  if (out.gave_up) ++stats_.invariants().failed_retryable;
  co_return out;
}

void VirtualUser::authorize(Call& call) const {
  if (!settings_.tokens || !wallet_.holding()) return;
  auto held = std::find_if(call.headers.begin(), call.headers.end(),
                           [](auto const& h) { return h.first == "Authorization"; });
  if (held != call.headers.end()) {
    held->second = wallet_.authorization();
  } else {
    call.headers.emplace_back("Authorization", wallet_.authorization());
  }
}

void VirtualUser::forget_login() {
  logged_in_ = false;
  agent_.forget_cookies();
  wallet_.forget();
}

asio::awaitable<VirtualUser::Outcome> VirtualUser::as_user(Call call) {
  int relogins = 0;
  bool refreshed_on_401 = false;
  for (;;) {
    if (settings_.tokens && logged_in_ && wallet_.should_refresh(lab_now_ms())) co_await refresh_tokens();
    authorize(call);
    Outcome out = co_await request(call);
    if (out.reply.status != 401 || !logged_in_) co_return out;
    // A logout sent again after a lost answer finds its login over (the first try ended it):
    // a 401 then is the logout's success, not a logout the user did not ask for.
    if (call.target == "/logout" && out.attempts > 1) co_return out;
    if (settings_.tokens && !refreshed_on_401 && call.target != "/logout") {
      // What a token client does on a 401: refresh once and send again.
      refreshed_on_401 = true;
      if (co_await refresh_tokens() == Step::ok) continue;
      if (!logged_in_) co_return out;  // the refresh was refused: counted there, not as a logout
    }
    logged_in_ = false;
    if (!auditing_) stats_.record_logout(lab_now_ms());
    int allowed = auditing_ ? 6 : settings_.relogins_per_step;
    if (relogins++ >= allowed || call.target == "/logout") co_return out;
    Step again = co_await log_in();
    if (again != Step::ok) co_return out;
  }
}

asio::awaitable<void> VirtualUser::run_journeys() {
  while (!stop_.stopping) {
    Step step = co_await journey();
    if (stop_.stopping) break;  // cut short by the end of the run: neither done nor abandoned
    if (step == Step::ok) {
      stats_.journey_completed();
    } else {
      stats_.journey_abandoned();
      forget_login();
    }
    co_await think();
  }
}

asio::awaitable<void> VirtualUser::run_one_journey() {
  Step step = co_await journey();
  agent_.close();  // an open-loop user leaves: its connection must not pile up with thousands more
  if (stop_.stopping) co_return;
  if (step == Step::ok) {
    stats_.journey_completed();
  } else {
    stats_.journey_abandoned();
  }
}

asio::awaitable<VirtualUser::Step> VirtualUser::journey() {
  // Each step is a member coroutine taking no arguments: nothing temporary inside co_await.
  using StepFn = asio::awaitable<Step> (VirtualUser::*)();
  std::vector<StepFn> steps;
  if (!signed_up_) steps.push_back(&VirtualUser::sign_up);
  if (!logged_in_) steps.push_back(&VirtualUser::log_in);
  steps.push_back(&VirtualUser::check_me);
  auto lines = random_between(1, 3);
  for (std::int64_t i = 0; i < lines; ++i) steps.push_back(&VirtualUser::add_cart_line);
  steps.push_back(&VirtualUser::upload_and_read_back);
  steps.push_back(&VirtualUser::check_cart);
  steps.push_back(&VirtualUser::check_out);
  steps.push_back(&VirtualUser::check_orders);
  steps.push_back(&VirtualUser::recommendations);
  steps.push_back(&VirtualUser::log_out);
  for (auto step : steps) {
    if (stop_.stopping) co_return Step::abandon;
    Step result = co_await (this->*step)();
    if (result != Step::ok) co_return result;
    co_await think();
  }
  co_return Step::ok;
}

asio::awaitable<VirtualUser::Step> VirtualUser::sign_up() {
  std::string body = json{{"user", name_}, {"password", password_}}.dump();
  Call call = json_post("/signup", body);
  Outcome out = co_await request(call);
  int status = out.reply.status;
  // 409 after a retry: an earlier attempt got through, its answer was lost on the way.
  if (status == 201 || (status == 409 && out.attempts > 1)) {
    signed_up_ = true;
    co_return Step::ok;
  }
  if (!out.gave_up) stats_.record_unexpected(fmt::format("signup answered {}", status));
  co_return Step::abandon;
}

asio::awaitable<VirtualUser::Step> VirtualUser::log_in() {
  std::string body = json{{"user", name_}, {"password", password_}}.dump();
  Call call = json_post("/login", body);
  Outcome out = co_await request(call);
  if (out.reply.status == 200 && settings_.tokens && !wallet_.take(out.reply.body, lab_now_ms())) {
    stats_.record_unexpected("login answered 200 without a token pair");
    co_return Step::abandon;
  }
  if (out.reply.status == 200) {
    logged_in_ = true;
    co_return Step::ok;
  }
  if (!out.gave_up) stats_.record_unexpected(fmt::format("login answered {}", out.reply.status));
  co_return Step::abandon;
}

asio::awaitable<VirtualUser::Step> VirtualUser::check_me() {
  Call call;
  call.target = "/me";
  Outcome out = co_await as_user(call);
  if (out.reply.status != 200) co_return Step::abandon;
  if (text_of(body_json(out.reply), "user") != name_) stats_.record_unexpected("/me named someone else");
  co_return Step::ok;
}

asio::awaitable<VirtualUser::Step> VirtualUser::add_cart_line() {
  std::string sku = fmt::format("sku-{:03}", random_between(1, kSkus));
  std::string body = json{{"sku", sku}, {"qty", random_between(1, 3)}}.dump();
  Call call = json_post("/cart/items", body);
  std::string key = next_key();
  call.headers.emplace_back("Idempotency-Key", key);
  Outcome out = co_await as_user(call);
  if (out.reply.status == 201) {
    std::string line_id = text_of(member(body_json(out.reply), "line"), "line_id");
    cart_lines_.insert(line_id);
    co_return Step::ok;
  }
  if (out.gave_up || out.reply.status == 401) {
    // Unknown: the line may have been written before the answer was lost. The cart will tell.
    maybe_cart_lines_.insert("key:" + key);
    co_return Step::abandon;
  }
  stats_.record_unexpected(fmt::format("POST /cart/items answered {}", out.reply.status));
  co_return Step::abandon;
}

asio::awaitable<VirtualUser::Step> VirtualUser::upload_and_read_back() {
  std::string bytes(static_cast<std::size_t>(random_between(1024, 32 * 1024)), '\0');
  for (auto& b : bytes) b = static_cast<char>(rng_() & 0xff);
  Call post;
  post.method = verb::post;
  post.target = "/uploads";
  post.body = bytes;
  post.content_type = "application/octet-stream";
  Outcome stored = co_await as_user(post);
  if (stored.reply.status != 201) {
    if (!stored.gave_up && stored.reply.status != 401) {
      stats_.record_unexpected(fmt::format("POST /uploads answered {}", stored.reply.status));
    }
    co_return Step::abandon;
  }
  std::string id = text_of(body_json(stored.reply), "id");
  co_await think();
  Call get;
  get.target = "/uploads/" + id;
  Outcome read = co_await as_user(get);
  if (read.gave_up || read.reply.status == 401) co_return Step::abandon;
  if (read.reply.status != 200 || read.reply.body != bytes) {
    ++stats_.invariants().upload_mismatches;
    co_return Step::ok;  // the user saw a broken upload, and carries on
  }
  co_return Step::ok;
}

asio::awaitable<VirtualUser::Step> VirtualUser::check_cart() {
  Call call;
  call.target = "/cart";
  Outcome out = co_await as_user(call);
  if (out.reply.status != 200) co_return Step::abandon;
  auto present = line_ids(member(body_json(out.reply), "lines"));
  std::map<std::string, int> seen;
  for (auto const& id : present) ++seen[id];
  auto& inv = stats_.invariants();
  for (auto it = cart_lines_.begin(); it != cart_lines_.end();) {
    if (!seen.contains(*it)) {
      ++inv.lost_cart_lines;
      it = cart_lines_.erase(it);  // reported once
    } else {
      ++it;
    }
  }
  // Lines of unknown outcome: adopt as many as there were unknowns, count the rest as extra.
  auto unknown = static_cast<int>(maybe_cart_lines_.size());
  for (auto const& [id, count] : seen) {
    if (count > 1) inv.duplicated_cart_lines += count - 1;
    if (cart_lines_.contains(id)) continue;
    if (unknown > 0) {
      --unknown;
      cart_lines_.insert(id);
    } else {
      ++inv.duplicated_cart_lines;
      cart_lines_.insert(id);  // counted once; from now on it is expected
    }
  }
  maybe_cart_lines_.clear();
  co_return Step::ok;
}

asio::awaitable<VirtualUser::Step> VirtualUser::check_out() {
  Call call;
  call.method = verb::post;
  call.target = "/checkout";
  std::string key = next_key();
  call.headers.emplace_back("Idempotency-Key", key);
  Outcome out = co_await as_user(call);
  if (out.reply.status == 201) {
    json order = member(body_json(out.reply), "order");
    std::string id = text_of(order, "order_id");
    auto ids = line_ids(member(order, "lines"));
    orders_[id] = std::set<std::string>(ids.begin(), ids.end());
    cart_lines_.clear();
    co_return Step::ok;
  }
  if (out.gave_up || out.reply.status == 401) {
    ++maybe_orders_;
    for (auto const& l : cart_lines_) maybe_cart_lines_.insert(l);
    cart_lines_.clear();
    co_return Step::abandon;
  }
  if (out.reply.status == 400 && !cart_lines_.empty()) {
    // "cart_empty" while the ledger says there are lines: they were lost.
    stats_.invariants().lost_cart_lines += static_cast<std::int64_t>(cart_lines_.size());
    cart_lines_.clear();
    co_return Step::abandon;
  }
  stats_.record_unexpected(fmt::format("POST /checkout answered {}", out.reply.status));
  co_return Step::abandon;
}

asio::awaitable<VirtualUser::Step> VirtualUser::check_orders() {
  Call call;
  call.target = "/orders";
  Outcome out = co_await as_user(call);
  if (out.reply.status != 200) co_return Step::abandon;
  json listed = member(body_json(out.reply), "orders");
  std::map<std::string, int> seen;
  std::map<std::string, int> line_in_orders;
  if (listed.is_array()) {
    for (auto const& order : listed) {
      if (!order.is_object()) continue;
      ++seen[text_of(order, "order_id")];
      for (auto const& l : line_ids(member(order, "lines"))) ++line_in_orders[l];
    }
  }
  auto& inv = stats_.invariants();
  for (auto const& [id, lines] : orders_) {
    if (!seen.contains(id) && reported_missing_orders_.insert(id).second) ++inv.lost_orders;
  }
  for (auto const& [id, count] : seen) {
    if (count > 1) inv.duplicate_orders += count - 1;
    if (orders_.contains(id)) continue;
    if (maybe_orders_ > 0) {
      --maybe_orders_;
    } else {
      ++inv.duplicate_orders;  // an order nobody confirmed to this user
    }
    orders_[id] = {};  // known from now on
  }
  for (auto const& [line, count] : line_in_orders) {
    if (count > 1) inv.duplicate_orders += count - 1;  // one cart line ordered twice
  }
  // Lines of an order whose checkout answer was lost are in that order now, not in the cart.
  for (auto const& [line, count] : line_in_orders) maybe_cart_lines_.erase(line);
  co_return Step::ok;
}

asio::awaitable<VirtualUser::Step> VirtualUser::recommendations() {
  Call call;
  call.target = "/recommendations";
  Outcome out = co_await as_user(call);
  co_return out.reply.status == 200 ? Step::ok : Step::abandon;
}

asio::awaitable<VirtualUser::Step> VirtualUser::refresh_tokens() {
  Call call = json_post("/token/refresh", wallet_.refresh_request());
  // Retried as any request is: a retry whose first answer was lost comes within the grace window,
  // and gets the same new pair.
  Outcome out = co_await request(call);
  if (out.reply.status == 200 && wallet_.take(out.reply.body, lab_now_ms())) {
    stats_.record_token_refresh();
    co_return Step::ok;
  }
  if (out.reply.status == 401) {
    if (!auditing_) ++stats_.invariants().refresh_family_revoked;
    forget_login();
  } else if (!out.gave_up) {
    stats_.record_unexpected(fmt::format("POST /token/refresh answered {}", out.reply.status));
  }
  co_return Step::abandon;
}

asio::awaitable<VirtualUser::Step> VirtualUser::log_out() {
  Call call = json_post("/logout", "");
  call.content_type.clear();
  // What someone holding a copy of this login (a stolen cookie or token, a shared machine) would
  // send, as it stands before the logout (as_user may refresh the token first: the replay must
  // carry the one the logout revoked, so it is taken again below when that happens).
  Call replay;
  replay.target = "/me";
  if (auto cookies = agent_.cookie_header(); !cookies.empty()) replay.headers.emplace_back("Cookie", cookies);
  if (settings_.tokens && logged_in_ && wallet_.should_refresh(lab_now_ms())) co_await refresh_tokens();
  authorize(replay);
  authorize(call);
  Outcome out = co_await as_user(call);
  logged_in_ = false;
  wallet_.forget();
  bool logged_out = out.reply.status == 200 || (out.reply.status == 401 && out.attempts > 1);
  if (!logged_out) co_return Step::abandon;
  if (!auditing_) co_await check_revoked(replay, out.reply.served_by);
  co_return Step::ok;
}

asio::awaitable<void> VirtualUser::check_revoked(Call const& replay, std::string logged_out_by) {
  // The gateway spreads the replays over the servers: two refusals in a row, or an acceptance
  // past the bound, settle it. An answer that is neither (a failure, a 5xx while a fault runs)
  // says nothing about revocation: the check is dropped, not counted.
  constexpr int kMaxReplays = 50;
  constexpr std::chrono::milliseconds kGap(10);
  std::int64_t acknowledged = lab_now_ms();
  std::int64_t accepted_for = 0;
  std::string accepted_by;
  int refusals = 0;
  bool refused_elsewhere = false;  // by a server other than the one that logged the user out
  for (int i = 0; i < kMaxReplays && refusals < 2 && !stop_.stopping; ++i) {
    std::int64_t since = lab_now_ms() - acknowledged;  // when it was sent: the earliest it was accepted
    Reply reply = co_await agent_.send(replay);
    if (reply.status == 401) {
      ++refusals;
      refused_elsewhere = refused_elsewhere || (!reply.served_by.empty() && reply.served_by != logged_out_by);
    } else if (reply.status == 200) {
      refusals = 0;
      accepted_for = since;
      accepted_by = reply.served_by;
      if (since >= settings_.revocation_bound.count()) {
        ++stats_.invariants().revoked_accepted;
        break;
      }
    } else {
      co_return;
    }
    co_await pause(kGap);
  }
  stats_.record_revocation(accepted_for, accepted_by, refused_elsewhere);
}

asio::awaitable<std::optional<std::vector<std::pair<std::string, std::string>>>> VirtualUser::chat_login(
    bool refused) {
  using Headers = std::vector<std::pair<std::string, std::string>>;
  if (refused && logged_in_) {
    // As as_user() does with a 401: a token client refreshes once first; a refused refresh is
    // counted there, anything else is a logout the user did not ask for.
    bool recovered = settings_.tokens && co_await refresh_tokens() == Step::ok;
    if (!recovered && logged_in_) {
      logged_in_ = false;
      stats_.record_logout(lab_now_ms());
    }
  }
  if (!signed_up_ && co_await sign_up() != Step::ok) co_return std::nullopt;
  if (settings_.tokens && logged_in_ && wallet_.should_refresh(lab_now_ms())) co_await refresh_tokens();
  if (!logged_in_ && co_await log_in() != Step::ok) co_return std::nullopt;
  // The page around the chat asks who is logged in, 0 to 2 times, before it opens its socket:
  // besides being what a client does, it keeps round robin from sending every user's upgrade to
  // the same server (sign-up, login, upgrade would otherwise land on servers 1, 2, 3 for all).
  for (auto loads = random_between(0, 2); loads > 0; --loads) {
    Call me;
    me.target = "/me";
    Outcome out = co_await as_user(me);
    if (out.reply.status != 200) co_return std::nullopt;
  }
  Headers headers;
  if (settings_.tokens) {
    headers.emplace_back("Authorization", wallet_.authorization());
  } else if (auto cookies = agent_.cookie_header(); !cookies.empty()) {
    headers.emplace_back("Cookie", cookies);
  }
  co_return headers;
}

std::vector<std::string> VirtualUser::placed_orders() const {
  std::vector<std::string> ids;
  for (auto const& [id, lines] : orders_) ids.push_back(id);
  return ids;
}

asio::awaitable<std::optional<json>> VirtualUser::read_order(std::string id) {
  if (!signed_up_) co_return std::nullopt;
  auditing_ = true;
  if (!logged_in_) {
    Step in = co_await log_in();
    if (in != Step::ok) co_return std::nullopt;
  }
  Call call;
  call.target = "/orders/" + id;
  Outcome out = co_await as_user(call);
  if (out.reply.status != 200) co_return std::nullopt;
  json answer = body_json(out.reply);
  co_return answer;
}

asio::awaitable<void> VirtualUser::audit() {
  if (!signed_up_) co_return;
  auditing_ = true;
  if (!logged_in_) {
    Step in = co_await log_in();
    if (in != Step::ok) co_return;
  }
  co_await check_cart();
  co_await check_orders();
  agent_.close();
}

}  // namespace outboard::lab
