#include "state/memory/memory_store.hpp"

#include <charconv>
#include <mutex>
#include <unordered_map>
#include <variant>
#include <vector>

namespace outboard::state {
namespace {

using List = std::vector<std::string>;
using Value = std::variant<std::string, FieldMap, List>;

struct Entry {
  Value value;
  std::int64_t expires_at_ms = 0;  // 0: never
};

Error wrong_type(std::string const& key) {
  return core::make_error(Errc::invalid, "key '" + key + "' holds another type");
}

// What a key holds, as commit_if's type check sees it.
enum class Shape { none, string, hash, list };

Shape shape_of(Entry const* e) {
  if (!e) return Shape::none;
  if (std::holds_alternative<std::string>(e->value)) return Shape::string;
  if (std::holds_alternative<FieldMap>(e->value)) return Shape::hash;
  return Shape::list;
}

// All operations complete synchronously under one mutex; the coroutine wrappers exist so the
// memory store is a drop-in for the networked ones. Cost: every call takes the process-wide lock.
class MemoryStore final : public Store {
 public:
  explicit MemoryStore(core::Clock const& clock) : clock_(clock) {}

  std::string_view backend() const override { return "memory"; }

  Async<void> ping() override { co_return Result<void>{}; }

  Async<std::optional<std::string>> get(std::string key) override {
    std::lock_guard lock(mutex_);
    Entry* e = find(key);
    if (!e) co_return std::optional<std::string>{};
    auto* s = std::get_if<std::string>(&e->value);
    if (!s) co_return wrong_type(key);
    co_return std::optional<std::string>{*s};
  }

  Async<void> set(std::string key, std::string value, std::optional<Millis> ttl) override {
    std::lock_guard lock(mutex_);
    entries_[key] = Entry{std::move(value), deadline(ttl)};
    co_return Result<void>{};
  }

  Async<bool> set_if_absent(std::string key, std::string value,
                            std::optional<Millis> ttl) override {
    std::lock_guard lock(mutex_);
    if (find(key)) co_return false;
    entries_[key] = Entry{std::move(value), deadline(ttl)};
    co_return true;
  }

  Async<bool> del(std::string key) override {
    std::lock_guard lock(mutex_);
    bool existed = find(key) != nullptr;
    entries_.erase(key);
    co_return existed;
  }

  Async<bool> expire(std::string key, Millis ttl) override {
    std::lock_guard lock(mutex_);
    Entry* e = find(key);
    if (!e) co_return false;
    e->expires_at_ms = deadline(ttl);
    co_return true;
  }

  Async<std::int64_t> pttl(std::string key) override {
    std::lock_guard lock(mutex_);
    Entry* e = find(key);
    if (!e) co_return kNoKey;
    if (e->expires_at_ms == 0) co_return kNoExpiry;
    co_return e->expires_at_ms - clock_.now_ms();
  }

  Async<bool> compare_and_set(std::string key, std::optional<std::string> expected,
                              std::string desired, std::optional<Millis> ttl) override {
    std::lock_guard lock(mutex_);
    Entry* e = find(key);
    if (e) {
      auto* s = std::get_if<std::string>(&e->value);
      if (!s) co_return wrong_type(key);
      if (!expected || *expected != *s) co_return false;
    } else if (expected) {
      co_return false;
    }
    entries_[key] = Entry{std::move(desired), deadline(ttl)};
    co_return true;
  }

  Async<std::int64_t> incr_by(std::string key, std::int64_t delta) override {
    std::lock_guard lock(mutex_);
    Entry* e = find(key);
    std::int64_t current = 0;
    if (e) {
      auto* s = std::get_if<std::string>(&e->value);
      if (!s) co_return wrong_type(key);
      auto [ptr, ec] = std::from_chars(s->data(), s->data() + s->size(), current);
      if (ec != std::errc{} || ptr != s->data() + s->size()) {
        co_return core::make_error(Errc::invalid, "key '" + key + "' is not an integer");
      }
    } else {
      e = &entries_[key];
    }
    current += delta;
    e->value = std::to_string(current);
    co_return current;
  }

  Async<std::optional<std::string>> hget(std::string key, std::string field) override {
    std::lock_guard lock(mutex_);
    Entry* e = find(key);
    if (!e) co_return std::optional<std::string>{};
    auto* h = std::get_if<FieldMap>(&e->value);
    if (!h) co_return wrong_type(key);
    auto it = h->find(field);
    if (it == h->end()) co_return std::optional<std::string>{};
    co_return std::optional<std::string>{it->second};
  }

  Async<FieldMap> hgetall(std::string key) override {
    std::lock_guard lock(mutex_);
    Entry* e = find(key);
    if (!e) co_return FieldMap{};
    auto* h = std::get_if<FieldMap>(&e->value);
    if (!h) co_return wrong_type(key);
    co_return *h;
  }

  Async<void> hset(std::string key, Fields fields, std::optional<Millis> ttl) override {
    std::lock_guard lock(mutex_);
    Entry* e = find(key);
    if (!e) {
      e = &entries_[key];
      e->value = FieldMap{};
    }
    auto* h = std::get_if<FieldMap>(&e->value);
    if (!h) co_return wrong_type(key);
    for (auto& [f, v] : fields) (*h)[f] = std::move(v);
    if (ttl) e->expires_at_ms = deadline(ttl);
    co_return Result<void>{};
  }

  Async<std::int64_t> hdel(std::string key, std::vector<std::string> fields) override {
    std::lock_guard lock(mutex_);
    Entry* e = find(key);
    if (!e) co_return std::int64_t{0};
    auto* h = std::get_if<FieldMap>(&e->value);
    if (!h) co_return wrong_type(key);
    std::int64_t removed = 0;
    for (auto const& f : fields) removed += static_cast<std::int64_t>(h->erase(f));
    if (h->empty()) entries_.erase(key);
    co_return removed;
  }

  Async<std::int64_t> list_push(std::string key, std::string value) override {
    std::lock_guard lock(mutex_);
    Entry* e = find(key);
    if (!e) {
      e = &entries_[key];
      e->value = List{};
    }
    auto* l = std::get_if<List>(&e->value);
    if (!l) co_return wrong_type(key);
    l->push_back(std::move(value));
    co_return static_cast<std::int64_t>(l->size());
  }

  Async<std::vector<std::string>> list_range(std::string key) override {
    std::lock_guard lock(mutex_);
    Entry* e = find(key);
    if (!e) co_return List{};
    auto* l = std::get_if<List>(&e->value);
    if (!l) co_return wrong_type(key);
    co_return *l;
  }

  // Three passes under the lock, so nothing is written unless everything can be: (1) every
  // condition's key and every write's key (as the earlier writes leave it) is checked for its
  // type, (2) the conditions are evaluated, (3) the writes are applied, which can no longer fail.
  // A type error wins over a false condition, as in the other backends.
  Async<bool> commit_if(std::vector<Condition> conditions, std::vector<Write> writes) override {
    std::lock_guard lock(mutex_);
    bool holds = true;
    for (Condition const& c : conditions) {
      Entry* e = find(c.key);
      if (c.kind == Condition::Kind::key_absent) {
        holds = holds && e == nullptr;
        continue;
      }
      if (c.kind == Condition::Kind::value_equals) {
        // Any type may be asked: a hash or a list simply is not the value (a fence check).
        auto* s = e ? std::get_if<std::string>(&e->value) : nullptr;
        holds = holds && s && *s == c.field;
        continue;
      }
      auto* h = e ? std::get_if<FieldMap>(&e->value) : nullptr;
      if (e && !h) co_return wrong_type(c.key);
      if (c.kind == Condition::Kind::hash_field_absent) {
        holds = holds && (!h || !h->contains(c.field));
      } else {
        holds = holds && static_cast<std::int64_t>(h ? h->size() : 0) == c.count;
      }
    }
    // The type each written key will have once the writes before it are applied.
    std::unordered_map<std::string_view, Shape> shapes;
    for (Write const& w : writes) {
      auto [it, inserted] = shapes.try_emplace(w.key, Shape::none);
      if (inserted) it->second = shape_of(find(w.key));
      bool gone_at_once = w.ttl && w.ttl->count() <= 0;  // expired on arrival
      switch (w.kind) {
        case Write::Kind::set:
          it->second = gone_at_once ? Shape::none : Shape::string;
          break;
        case Write::Kind::hset:
          if (it->second != Shape::none && it->second != Shape::hash) co_return wrong_type(w.key);
          it->second = gone_at_once ? Shape::none : Shape::hash;
          break;
        case Write::Kind::del:
          it->second = Shape::none;
          break;
        case Write::Kind::push:
          if (it->second != Shape::none && it->second != Shape::list) co_return wrong_type(w.key);
          it->second = gone_at_once ? Shape::none : Shape::list;
          break;
      }
    }
    if (!holds) co_return false;
    for (Write& w : writes) {
      switch (w.kind) {
        case Write::Kind::set:
          entries_[w.key] = Entry{std::move(w.value), deadline(w.ttl)};
          break;
        case Write::Kind::hset: {
          Entry* e = find(w.key);
          if (!e) {
            e = &entries_[w.key];
            e->value = FieldMap{};
          }
          std::get<FieldMap>(e->value)[w.field] = std::move(w.value);
          if (w.ttl) e->expires_at_ms = deadline(w.ttl);
          break;
        }
        case Write::Kind::del:
          entries_.erase(w.key);
          break;
        case Write::Kind::push: {
          Entry* e = find(w.key);
          if (!e) {
            e = &entries_[w.key];
            e->value = List{};
          }
          std::get<List>(e->value).push_back(std::move(w.value));
          if (w.ttl) e->expires_at_ms = deadline(w.ttl);
          break;
        }
      }
    }
    co_return true;
  }

 private:
  // Looks a key up, dropping it if it has expired. Caller holds mutex_.
  Entry* find(std::string const& key) {
    auto it = entries_.find(key);
    if (it == entries_.end()) return nullptr;
    if (it->second.expires_at_ms != 0 && it->second.expires_at_ms <= clock_.now_ms()) {
      entries_.erase(it);
      return nullptr;
    }
    return &it->second;
  }

  std::int64_t deadline(std::optional<Millis> ttl) const {
    return ttl ? clock_.now_ms() + ttl->count() : 0;
  }

  core::Clock const& clock_;
  std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
};

class MemoryProvider final : public StoreProvider {
 public:
  explicit MemoryProvider(core::Clock const& clock) : store_(std::make_shared<MemoryStore>(clock)) {}
  std::string_view backend() const override { return "memory"; }
  std::shared_ptr<Store> store_for(boost::asio::any_io_executor) override { return store_; }

 private:
  std::shared_ptr<MemoryStore> store_;
};

}  // namespace

std::unique_ptr<StoreProvider> make_memory_provider(StoreOptions const& options) {
  return std::make_unique<MemoryProvider>(*options.clock);
}

}  // namespace outboard::state
