#include "shop/accounts.hpp"

#include <nlohmann/json.hpp>

namespace outboard::shop {

std::optional<std::string> check_user_name(std::string const& user) {
  if (user.empty() || user.size() > 64) return "user must be 1 to 64 characters";
  for (char c : user) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-';
    if (!ok) return "user may contain only letters, digits, '.', '_' and '-'";
  }
  return std::nullopt;
}

state::Async<void> Accounts::create(Account account) {
  nlohmann::json record{{"user", account.user}, {"password_hash", account.password_hash},
                        {"created_ms", account.created_ms}};
  auto written = co_await store_.set_if_absent("account:" + account.user, record.dump());
  if (!written) co_return written.error();
  if (!*written) co_return core::make_error(core::Errc::conflict, "user '" + account.user + "' already exists");
  co_return state::Result<void>{};
}

state::Async<bool> Accounts::change_password(std::string user, std::string expected_hash, std::string new_hash) {
  std::string const key = "account:" + user;
  auto got = co_await store_.get(key);
  if (!got) co_return got.error();
  if (!*got) co_return false;
  auto record = nlohmann::json::parse(**got, nullptr, false);
  if (record.is_discarded() || !record.is_object()) {
    co_return core::make_error(core::Errc::internal, "account record for '" + user + "' is damaged");
  }
  if (record.value("password_hash", "") != expected_hash) co_return false;
  record["password_hash"] = std::move(new_hash);
  std::optional<std::string> expected = std::move(**got);
  co_return co_await store_.compare_and_set(key, std::move(expected), record.dump());
}

state::Async<std::optional<Account>> Accounts::find(std::string user) {
  auto got = co_await store_.get("account:" + user);
  if (!got) co_return got.error();
  if (!*got) co_return std::optional<Account>{};
  auto record = nlohmann::json::parse(**got, nullptr, false);
  if (record.is_discarded() || !record.is_object()) {
    co_return core::make_error(core::Errc::internal, "account record for '" + user + "' is damaged");
  }
  Account a;
  a.user = record.value("user", "");
  a.password_hash = record.value("password_hash", "");
  a.created_ms = record.value("created_ms", std::int64_t{0});
  co_return std::optional<Account>{std::move(a)};
}

}  // namespace outboard::shop
