#include "shop/receipts.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "shop/orders.hpp"

namespace outboard::shop {
namespace {

namespace asio = boost::asio;
using nlohmann::json;

std::string receipts_key(std::string const& user) { return "receipts:{" + user + "}"; }
std::string receipt_key(std::string const& user) { return "receipt:{" + user + "}"; }
std::string outbox_key(std::string const& user) { return "outbox:{" + user + "}"; }
constexpr char kSalesReceipts[] = "sales:receipts";
constexpr char kSalesSummary[] = "sales:summary";
constexpr char kCartsTouched[] = "carts:touched";

struct ReceiptPayload {
  std::string user;
  std::string order;
};

// The payload checkout wrote; anything else is a job no retry can save (the dead-letter list).
core::Result<ReceiptPayload> parse_payload(std::string const& payload) {
  auto doc = json::parse(payload, nullptr, false);
  if (!doc.is_object() || !doc.contains("user") || !doc.contains("order") || !doc["user"].is_string() ||
      !doc["order"].is_string() || doc["user"].get<std::string>().empty() || doc["order"].get<std::string>().empty()) {
    return core::make_error(core::Errc::invalid, "receipt payload is not {\"user\": \"...\", \"order\": \"...\"}");
  }
  return ReceiptPayload{doc["user"].get<std::string>(), doc["order"].get<std::string>()};
}

std::string render_text(json const& order) {
  std::string text = fmt::format("Receipt for order {}\n", order.value("order_id", ""));
  if (auto lines = order.find("lines"); lines != order.end() && lines->is_array()) {
    for (auto const& line : *lines) {
      text += fmt::format("  {} x {} ({}) {} cents\n", line.value("qty", 0), line.value("name", ""),
                          line.value("sku", ""), line.value("price_cents", 0));
    }
  }
  text += fmt::format("Total: {} cents\n", order.value("total_cents", std::int64_t{0}));
  return text;
}

class ReceiptHandler final : public jobs::JobHandler {
 public:
  explicit ReceiptHandler(ReceiptConfig config) : config_(config) {}

  core::Result<jobs::Marker> marker(state::Claim const& claim) const override {
    auto payload = parse_payload(claim.payload);
    if (!payload) return payload.error();
    return jobs::Marker{receipts_key(payload->user), payload->order};
  }

  state::Async<std::vector<state::Write>> run(jobs::JobContext const& ctx) override {
    auto payload = parse_payload(ctx.claim.payload);
    if (!payload) co_return payload.error();
    Orders orders(ctx.store, payload->user);
    auto order = co_await orders.find(payload->order);
    if (!order) co_return order.error();
    if (!*order) co_return core::make_error(core::Errc::invalid, "no order '" + payload->order + "'");
    if (config_.render_time.count() > 0) {
      asio::steady_timer rendering(co_await asio::this_coro::executor, config_.render_time);
      co_await rendering.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    std::int64_t now = ctx.clock.now_ms();
    std::int64_t total = (**order).value("total_cents", std::int64_t{0});
    std::string text = render_text(**order);
    json receipt{{"order", payload->order}, {"total_cents", total}, {"text", text}, {"rendered_ms", now}};
    json delivery{{"order", payload->order},       {"fence", ctx.claim.fence},
                  {"instance", ctx.instance},       {"at_ms", now},
                  {"to", payload->user},           {"subject", "Your order " + payload->order},
                  {"text", text}};
    std::vector<state::Write> writes;
    writes.push_back(state::Write::hset(receipt_key(payload->user), payload->order, receipt.dump()));
    writes.push_back(state::Write::push(outbox_key(payload->user), delivery.dump()));
    writes.push_back(state::Write::hset(kSalesReceipts, payload->user + "/" + payload->order, std::to_string(total)));
    co_return writes;
  }

 private:
  ReceiptConfig config_;
};

// Empties the carts whose last line is older than the abandon bound. Each emptying is its own
// commit, guarded by the cart's size, so a line added meanwhile keeps the cart; emptying twice
// (a tick run again after a crash) changes nothing. Nothing is left for the tick's own commit.
class ExpireCarts final : public jobs::TaskHandler {
 public:
  explicit ExpireCarts(ReceiptConfig config) : config_(config) {}

  state::Async<std::vector<state::Write>> run(state::Store& store, std::int64_t instant_ms) override {
    auto touched = co_await store.hgetall(kCartsTouched);
    if (!touched) co_return touched.error();
    std::int64_t before = instant_ms - config_.cart_abandon_after.count();
    for (auto const& [user, when] : *touched) {
      if (std::strtoll(when.c_str(), nullptr, 10) >= before) continue;
      std::string cart = "cart:{" + user + "}";
      auto lines = co_await store.hgetall(cart);
      if (!lines) co_return lines.error();
      std::vector<state::Condition> same{state::Condition::hash_len(cart, static_cast<std::int64_t>(lines->size()))};
      std::vector<state::Write> empty{state::Write::del(cart)};
      auto emptied = co_await store.commit_if(std::move(same), std::move(empty));
      if (!emptied) co_return emptied.error();
      if (!*emptied) continue;  // a line came in meanwhile: not abandoned
      std::vector<std::string> fields{user};
      if (auto r = co_await store.hdel(kCartsTouched, std::move(fields)); !r) co_return r.error();
    }
    co_return std::vector<state::Write>{};
  }

 private:
  ReceiptConfig config_;
};

// The number and total of the receipts made so far, as of this tick.
class SalesSummary final : public jobs::TaskHandler {
 public:
  state::Async<std::vector<state::Write>> run(state::Store& store, std::int64_t instant_ms) override {
    auto receipts = co_await store.hgetall(kSalesReceipts);
    if (!receipts) co_return receipts.error();
    std::int64_t total = 0;
    for (auto const& [order, cents] : *receipts) total += std::strtoll(cents.c_str(), nullptr, 10);
    json summary{{"instant_ms", instant_ms}, {"orders", receipts->size()}, {"total_cents", total}};
    co_return std::vector<state::Write>{state::Write::set(kSalesSummary, summary.dump())};
  }
};

}  // namespace

state::JobSpec receipt_job(std::string const& user, std::string const& order_id) {
  state::JobSpec spec;
  spec.type = kReceiptJob;
  spec.key = user + "/" + order_id;
  spec.payload = json{{"user", user}, {"order", order_id}}.dump();
  return spec;
}

state::Async<json> receipt_status(state::Store& data, state::JobQueue* queue, std::string user, std::string order_id) {
  auto outbox = co_await data.list_range(outbox_key(user));
  if (!outbox) co_return outbox.error();
  json fences = json::array();
  for (auto const& text : *outbox) {
    auto delivery = json::parse(text, nullptr, false);
    if (delivery.is_object() && delivery.value("order", "") == order_id) fences.push_back(delivery.value("fence", 0));
  }
  json job = nullptr;
  if (queue) {
    auto spec = receipt_job(user, order_id);
    auto info = co_await queue->get(state::job_id(spec.type, spec.key));
    if (!info) co_return info.error();
    if (*info) {
      job = {{"state", state::to_string((*info)->state)}, {"attempts", (*info)->attempts}, {"fence", (*info)->fence}};
    }
  }
  json status{{"state", fences.empty() ? "pending" : "sent"},
              {"deliveries", fences.size()},
              {"fences", std::move(fences)},
              {"job", std::move(job)}};
  co_return core::Result<json>(boost::system::in_place_value, std::move(status));
}

state::Async<void> touch_cart(state::Store& data, std::string user, std::int64_t now_ms) {
  state::Fields fields;
  fields.emplace_back(std::move(user), std::to_string(now_ms));
  co_return co_await data.hset(kCartsTouched, std::move(fields));
}

runtime::JobHandlers make_job_handlers(ReceiptConfig const& config) {
  runtime::JobHandlers handlers;
  handlers.jobs.emplace_back(kReceiptJob, std::make_unique<ReceiptHandler>(config));
  handlers.tasks.emplace_back(kExpireCartsTask, std::make_unique<ExpireCarts>(config));
  handlers.tasks.emplace_back(kSalesSummaryTask, std::make_unique<SalesSummary>());
  return handlers;
}

std::vector<std::string> task_names() { return {kExpireCartsTask, kSalesSummaryTask}; }

}  // namespace outboard::shop
