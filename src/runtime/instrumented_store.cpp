#include "runtime/instrumented_store.hpp"

#include <chrono>

namespace outboard::runtime {
namespace {

using namespace state;

class InstrumentedStore final : public Store {
 public:
  InstrumentedStore(std::shared_ptr<Store> inner, ServiceMetrics::Shard& shard, int store, StoreHealth& health)
      : inner_(std::move(inner)), shard_(shard), store_(store), health_(health) {}

  std::string_view backend() const override { return inner_->backend(); }

  Async<void> ping() override { return timed(0, inner_->ping()); }
  Async<std::optional<std::string>> get(std::string k) override { return timed(1, inner_->get(std::move(k))); }
  Async<void> set(std::string k, std::string v, std::optional<Millis> ttl) override {
    return timed(2, inner_->set(std::move(k), std::move(v), ttl));
  }
  Async<bool> set_if_absent(std::string k, std::string v, std::optional<Millis> ttl) override {
    return timed(3, inner_->set_if_absent(std::move(k), std::move(v), ttl));
  }
  Async<bool> del(std::string k) override { return timed(4, inner_->del(std::move(k))); }
  Async<bool> expire(std::string k, Millis ttl) override { return timed(5, inner_->expire(std::move(k), ttl)); }
  Async<std::int64_t> pttl(std::string k) override { return timed(6, inner_->pttl(std::move(k))); }
  Async<bool> compare_and_set(std::string k, std::optional<std::string> e, std::string d,
                              std::optional<Millis> ttl) override {
    return timed(7, inner_->compare_and_set(std::move(k), std::move(e), std::move(d), ttl));
  }
  Async<std::int64_t> incr_by(std::string k, std::int64_t d) override { return timed(8, inner_->incr_by(std::move(k), d)); }
  Async<std::optional<std::string>> hget(std::string k, std::string f) override {
    return timed(9, inner_->hget(std::move(k), std::move(f)));
  }
  Async<FieldMap> hgetall(std::string k) override { return timed(10, inner_->hgetall(std::move(k))); }
  Async<void> hset(std::string k, Fields f, std::optional<Millis> ttl) override {
    return timed(11, inner_->hset(std::move(k), std::move(f), ttl));
  }
  Async<std::int64_t> hdel(std::string k, std::vector<std::string> f) override {
    return timed(12, inner_->hdel(std::move(k), std::move(f)));
  }
  Async<std::int64_t> list_push(std::string k, std::string v) override {
    return timed(13, inner_->list_push(std::move(k), std::move(v)));
  }
  Async<std::vector<std::string>> list_range(std::string k) override { return timed(14, inner_->list_range(std::move(k))); }
  Async<bool> commit_if(std::vector<Condition> c, std::vector<Write> w) override {
    return timed(15, inner_->commit_if(std::move(c), std::move(w)));
  }

 private:
  // The inner call was made already (its awaitable is lazy: nothing runs until awaited here).
  template <class T>
  Async<T> timed(std::size_t op, Async<T> call) {
    auto start = std::chrono::steady_clock::now();
    auto result = co_await std::move(call);
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    ServiceMetrics::count_store(shard_, store_, op, took.count(), !result.has_value());
    if (result) {
      health_.observe(seen_up_, nullptr);
    } else {
      core::Error const error = result.error();
      health_.observe(seen_up_, &error);
    }
    co_return result;
  }

  std::shared_ptr<Store> inner_;
  ServiceMetrics::Shard& shard_;
  int store_;
  StoreHealth& health_;
  bool seen_up_ = true;  // this handle's own view: only its thread touches it
};

}  // namespace

std::shared_ptr<state::Store> instrument(std::shared_ptr<state::Store> inner, ServiceMetrics::Shard& shard, int store,
                                         StoreHealth& health) {
  return std::make_shared<InstrumentedStore>(std::move(inner), shard, store, health);
}

}  // namespace outboard::runtime
