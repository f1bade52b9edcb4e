#include "gateway/backend_pool.hpp"

#include <algorithm>
#include <charconv>

namespace outboard::gateway {

std::optional<BackendAddress> parse_backend_address(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  BackendAddress a;
  a.host = std::string(text.substr(0, colon));
  std::string_view port = text.substr(colon + 1);
  unsigned p = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc{} || ptr != port.data() + port.size() || p == 0 || p > 65535) return std::nullopt;
  a.port = static_cast<std::uint16_t>(p);
  return a;
}

Backend::Backend(BackendAddress address, std::uint32_t weight, std::int64_t now_ms)
    : address_(std::move(address)), id_(address_.id()), weight_(weight), available_since_ms_(now_ms) {}

bool Backend::record_check(bool ok, int rise, int fall, std::int64_t now_ms) {
  int streak = check_streak_.load(std::memory_order_relaxed);
  streak = ok ? std::max(streak, 0) + 1 : std::min(streak, 0) - 1;
  check_streak_.store(streak, std::memory_order_relaxed);
  bool was = healthy();
  if (!was && ok && streak >= rise) {
    healthy_.store(true, std::memory_order_relaxed);
    available_since_ms_.store(now_ms, std::memory_order_relaxed);
    return true;
  }
  if (was && !ok && -streak >= fall) {
    healthy_.store(false, std::memory_order_relaxed);
    return true;
  }
  return false;
}

bool Backend::record_failure(int threshold, core::Millis base, core::Millis max, std::int64_t now_ms) {
  failures.fetch_add(1, std::memory_order_relaxed);
  int n = consecutive_failures_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (threshold <= 0 || n < threshold || ejected(now_ms)) return false;
  int times = ejection_count_.fetch_add(1, std::memory_order_relaxed);
  std::int64_t backoff = base.count() << std::min(times, 20);
  backoff = std::min<std::int64_t>(backoff, max.count());
  ejected_until_ms_.store(now_ms + backoff, std::memory_order_relaxed);
  available_since_ms_.store(now_ms + backoff, std::memory_order_relaxed);
  consecutive_failures_.store(0, std::memory_order_relaxed);
  ejections.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void Backend::record_success() {
  if (consecutive_failures_.load(std::memory_order_relaxed) != 0) consecutive_failures_.store(0, std::memory_order_relaxed);
  // A success: the next ejection starts from the base back-off again.
  if (ejection_count_.load(std::memory_order_relaxed) != 0) ejection_count_.store(0, std::memory_order_relaxed);
}

std::uint32_t Backend::effective_weight(std::int64_t now_ms, core::Millis slow_start) const {
  std::uint32_t w = weight();
  if (slow_start.count() <= 0 || w == 0) return w;
  std::int64_t since = now_ms - available_since_ms_.load(std::memory_order_relaxed);
  if (since >= slow_start.count()) return w;
  if (since < 0) since = 0;
  auto ramped = static_cast<std::uint32_t>(1 + (static_cast<std::int64_t>(w) - 1) * since / slow_start.count());
  return std::max<std::uint32_t>(1, ramped);
}

std::string Backend::state_name(std::int64_t now_ms) const {
  if (draining()) return "draining";
  if (!healthy()) return "down";
  if (ejected(now_ms)) return "ejected";
  return "up";
}

std::shared_ptr<Membership const> BackendPool::snapshot() const {
  std::lock_guard lock(mutex_);
  return current_;
}

void BackendPool::publish(std::vector<std::shared_ptr<Backend>> backends) {
  auto next = std::make_shared<Membership>();
  next->version = current_->version + 1;
  next->backends = std::move(backends);
  current_ = std::move(next);
  version_.store(current_->version, std::memory_order_release);
}

bool BackendPool::add(BackendAddress address, std::uint32_t weight) {
  std::lock_guard lock(mutex_);
  std::string id = address.id();
  for (auto const& b : current_->backends) {
    if (b->id() == id) return false;
  }
  auto backends = current_->backends;
  backends.push_back(std::make_shared<Backend>(std::move(address), weight, clock_.now_ms()));
  publish(std::move(backends));
  return true;
}

bool BackendPool::remove(std::string const& id) {
  std::lock_guard lock(mutex_);
  auto backends = current_->backends;
  auto it = std::find_if(backends.begin(), backends.end(), [&](auto const& b) { return b->id() == id; });
  if (it == backends.end()) return false;
  backends.erase(it);
  publish(std::move(backends));
  return true;
}

std::shared_ptr<Backend> BackendPool::find(std::string const& id) const {
  std::lock_guard lock(mutex_);
  for (auto const& b : current_->backends) {
    if (b->id() == id) return b;
  }
  return nullptr;
}

void BackendPool::replace(std::vector<std::pair<BackendAddress, std::uint32_t>> const& wanted) {
  std::lock_guard lock(mutex_);
  std::vector<std::shared_ptr<Backend>> backends;
  for (auto const& [address, weight] : wanted) {
    std::string id = address.id();
    auto it = std::find_if(current_->backends.begin(), current_->backends.end(),
                           [&](auto const& b) { return b->id() == id; });
    if (it != current_->backends.end()) {
      (*it)->set_weight(weight);
      backends.push_back(*it);
    } else {
      backends.push_back(std::make_shared<Backend>(address, weight, clock_.now_ms()));
    }
  }
  publish(std::move(backends));
}

}  // namespace outboard::gateway
