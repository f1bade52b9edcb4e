#pragma once
// Turning one Redis reply into the Result a Store operation promises. Pure functions over Reply,
// one per reply shape, shared by every command that answers in that shape.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "state/redis/resp.hpp"
#include "state/store.hpp"

namespace outboard::state::redis_reply {

// An error reply as our Error: WRONGTYPE and "not an integer" / overflow are the caller's misuse
// of a key (Errc::invalid, as in the memory store); a server in a passing state (LOADING after a
// restart, BUSY, MASTERDOWN, TRYAGAIN, CLUSTERDOWN, READONLY, NOREPLICAS, MISCONF) is
// Errc::unavailable, a 503 to try again; anything else is Errc::internal with Redis's message,
// since we only send commands we know to be well formed.
Error to_error(std::string_view command, Reply const& reply);

// +OK.
Result<void> ok(std::string_view command, Reply&& reply);
// +OK: true; nil: false (SET ... NX).
Result<bool> ok_or_nil(std::string_view command, Reply&& reply);
// :n.
Result<std::int64_t> integer(std::string_view command, Reply&& reply);
// :n, as n != 0 (DEL, PEXPIRE, a script's 0/1).
Result<bool> flag(std::string_view command, Reply&& reply);
// $bulk or nil.
Result<std::optional<std::string>> optional_string(std::string_view command, Reply&& reply);
// A flat array of field, value, field, value... (HGETALL in RESP2).
Result<FieldMap> field_map(std::string_view command, Reply&& reply);
// An array of bulk strings (LRANGE).
Result<std::vector<std::string>> strings(std::string_view command, Reply&& reply);

}  // namespace outboard::state::redis_reply
