#include "state/redis/redis_reply.hpp"

namespace outboard::state::redis_reply {
namespace {

bool starts_with(std::string const& s, std::string_view prefix) { return s.rfind(prefix, 0) == 0; }

Error unexpected(std::string_view command, Reply const& reply) {
  static constexpr char const* kNames[] = {"string", "array", "integer", "nil", "status", "error"};
  return core::make_error(Errc::internal, "redis " + std::string(command) + ": unexpected " +
                                              kNames[static_cast<int>(reply.type)] + " reply");
}

// Error codes of a server that cannot serve the command now but will: loading its data after a
// restart, a script running too long, a replica without its master, a cluster without a quorum or
// in the middle of moving a slot, a write sent to a demoted master, too few replicas, a failed
// snapshot blocking writes. The client sees a 503 and tries again, never a 500.
bool passing_state(std::string const& msg) {
  for (std::string_view code : {"LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN", "READONLY", "NOREPLICAS",
                                "MISCONF"}) {
    if (starts_with(msg, code) && (msg.size() == code.size() || msg[code.size()] == ' ')) return true;
  }
  return false;
}

}  // namespace

Error to_error(std::string_view command, Reply const& reply) {
  std::string const& msg = reply.str;
  // Redis 7 keeps the error code of a redis.call() that failed inside a script, so scripts map
  // the same way as plain commands.
  bool misuse = starts_with(msg, "WRONGTYPE") || starts_with(msg, "ERR value is not an integer") ||
                starts_with(msg, "ERR increment or decrement would overflow");
  Errc code = misuse ? Errc::invalid : passing_state(msg) ? Errc::unavailable : Errc::internal;
  return core::make_error(code, "redis " + std::string(command) + ": " + msg);
}

Result<void> ok(std::string_view command, Reply&& reply) {
  if (reply.is_error()) return to_error(command, reply);
  if (reply.type != Reply::Type::status) return unexpected(command, reply);
  return {};
}

Result<bool> ok_or_nil(std::string_view command, Reply&& reply) {
  if (reply.is_error()) return to_error(command, reply);
  if (reply.type == Reply::Type::nil) return false;
  if (reply.type != Reply::Type::status) return unexpected(command, reply);
  return true;
}

Result<std::int64_t> integer(std::string_view command, Reply&& reply) {
  if (reply.is_error()) return to_error(command, reply);
  if (reply.type != Reply::Type::integer) return unexpected(command, reply);
  return reply.integer;
}

Result<bool> flag(std::string_view command, Reply&& reply) {
  auto n = integer(command, std::move(reply));
  if (!n) return n.error();
  return *n != 0;
}

Result<std::optional<std::string>> optional_string(std::string_view command, Reply&& reply) {
  if (reply.is_error()) return to_error(command, reply);
  if (reply.type == Reply::Type::nil) return std::optional<std::string>{};
  if (reply.type != Reply::Type::string) return unexpected(command, reply);
  return std::optional<std::string>{std::move(reply.str)};
}

Result<FieldMap> field_map(std::string_view command, Reply&& reply) {
  if (reply.is_error()) return to_error(command, reply);
  if (reply.type != Reply::Type::array || reply.elements.size() % 2 != 0) {
    return unexpected(command, reply);
  }
  FieldMap out;
  for (std::size_t i = 0; i < reply.elements.size(); i += 2) {
    Reply& field = reply.elements[i];
    Reply& value = reply.elements[i + 1];
    if (field.type != Reply::Type::string || value.type != Reply::Type::string) {
      return unexpected(command, field.type != Reply::Type::string ? field : value);
    }
    out.insert_or_assign(std::move(field.str), std::move(value.str));
  }
  return out;
}

Result<std::vector<std::string>> strings(std::string_view command, Reply&& reply) {
  if (reply.is_error()) return to_error(command, reply);
  if (reply.type != Reply::Type::array) return unexpected(command, reply);
  std::vector<std::string> out;
  out.reserve(reply.elements.size());
  for (Reply& item : reply.elements) {
    if (item.type != Reply::Type::string) return unexpected(command, item);
    out.push_back(std::move(item.str));
  }
  return out;
}

}  // namespace outboard::state::redis_reply
