#include "lab/token_wallet.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace outboard::lab {

bool TokenWallet::take(std::string_view body, std::int64_t now_ms) {
  auto doc = nlohmann::json::parse(body, nullptr, false);
  if (!doc.is_object()) return false;
  auto access = doc.find("access_token");
  auto refresh = doc.find("refresh_token");
  auto lifetime = doc.find("expires_in");
  if (access == doc.end() || !access->is_string() || access->get_ref<std::string const&>().empty()) return false;
  if (refresh == doc.end() || !refresh->is_string() || refresh->get_ref<std::string const&>().empty()) return false;
  if (lifetime == doc.end() || !lifetime->is_number_integer() || lifetime->get<std::int64_t>() <= 0) return false;
  std::int64_t lifetime_ms = lifetime->get<std::int64_t>() * 1000;
  std::int64_t margin_ms = std::max<std::int64_t>(lifetime_ms / 5, 1000);
  access_ = access->get<std::string>();
  refresh_ = refresh->get<std::string>();
  refresh_from_ms_ = now_ms + std::max<std::int64_t>(lifetime_ms - margin_ms, 0);
  return true;
}

void TokenWallet::forget() {
  access_.clear();
  refresh_.clear();
  refresh_from_ms_ = 0;
}

bool TokenWallet::should_refresh(std::int64_t now_ms) const { return holding() && now_ms >= refresh_from_ms_; }

std::string TokenWallet::refresh_request() const { return nlohmann::json{{"refresh_token", refresh_}}.dump(); }

}  // namespace outboard::lab
