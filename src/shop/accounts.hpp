#pragma once
// Accounts are durable records. They are kept in the data store under "account:<user>" as
// JSON, through this small interface so a postgres table can take over without touching routes.
#include <cstddef>
#include <optional>
#include <string>

#include "state/store.hpp"

namespace outboard::shop {

// The longest password a request may carry (sign-up, login, a password change), in bytes.
inline constexpr std::size_t kMaxPassword = 1024;

struct Account {
  std::string user;
  std::string password_hash;  // libsodium's encoded Argon2id string
  std::int64_t created_ms = 0;
};

class Accounts {
 public:
  explicit Accounts(state::Store& store) : store_(store) {}
  // Errc::conflict when the user exists already; atomic across instances (set-if-absent).
  state::Async<void> create(Account account);
  state::Async<std::optional<Account>> find(std::string user);
  // Replaces the password hash when it is still `expected_hash` (one compare-and-set): false when
  // the account changed meanwhile (another password change won) or is gone.
  state::Async<bool> change_password(std::string user, std::string expected_hash, std::string new_hash);

 private:
  state::Store& store_;
};

// 1..64 characters of [A-Za-z0-9._-]; a reason otherwise.
std::optional<std::string> check_user_name(std::string const& user);

}  // namespace outboard::shop
