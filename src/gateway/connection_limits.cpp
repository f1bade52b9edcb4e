#include "gateway/connection_limits.hpp"

namespace outboard::gateway {

ConnectionLimits::Verdict ConnectionLimits::admit(std::string const& client) {
  std::lock_guard lock(mutex_);
  if (max_total_ > 0 && open_ >= max_total_) return Verdict::over_total;
  if (max_per_client_ > 0) {
    auto& mine = per_client_[client];
    if (mine >= max_per_client_) return Verdict::over_per_client;
    ++mine;
  }
  ++open_;
  return Verdict::admitted;
}

void ConnectionLimits::release(std::string const& client) {
  std::lock_guard lock(mutex_);
  --open_;
  if (max_per_client_ == 0) return;
  auto it = per_client_.find(client);
  // Erased at zero, so the map holds only addresses with connections open (it cannot grow with
  // every address ever seen).
  if (it != per_client_.end() && --it->second == 0) per_client_.erase(it);
}

std::size_t ConnectionLimits::open() const {
  std::lock_guard lock(mutex_);
  return open_;
}

}  // namespace outboard::gateway
