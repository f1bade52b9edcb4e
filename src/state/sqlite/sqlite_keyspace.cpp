#include "state/sqlite/sqlite_keyspace.hpp"

#include <array>
#include <charconv>
#include <map>
#include <string_view>
#include <utility>
#include <variant>

#include "state/sqlite/sqlite_schema.hpp"

namespace outboard::state {
namespace {

// Statements, prepared once per connection (SqliteConnection caches them by text).
constexpr std::string_view kSelectEntry =
    "SELECT type, value, expires_at FROM entries WHERE key = ?1";
constexpr std::string_view kUpsertEntry =
    "INSERT INTO entries(key, type, value, expires_at) VALUES(?1, ?2, ?3, ?4) "
    "ON CONFLICT(key) DO UPDATE SET type = excluded.type, value = excluded.value, "
    "expires_at = excluded.expires_at";
constexpr std::string_view kUpdateValue = "UPDATE entries SET value = ?2 WHERE key = ?1";
constexpr std::string_view kUpdateExpiry = "UPDATE entries SET expires_at = ?2 WHERE key = ?1";
constexpr std::string_view kDeleteEntry = "DELETE FROM entries WHERE key = ?1";
constexpr std::string_view kDeleteIfExpired =
    "DELETE FROM entries WHERE key = ?1 AND expires_at <= ?2 RETURNING type";
constexpr std::string_view kDeleteExpired =
    "DELETE FROM entries WHERE key IN (SELECT key FROM entries WHERE expires_at IS NOT NULL "
    "AND expires_at <= ?1 LIMIT ?2) RETURNING key, type";
constexpr std::string_view kDeleteHash = "DELETE FROM hash_fields WHERE key = ?1";
constexpr std::string_view kDeleteList = "DELETE FROM list_items WHERE key = ?1";
constexpr std::string_view kUpsertField =
    "INSERT INTO hash_fields(key, field, value) VALUES(?1, ?2, ?3) "
    "ON CONFLICT(key, field) DO UPDATE SET value = excluded.value";
constexpr std::string_view kDeleteField = "DELETE FROM hash_fields WHERE key = ?1 AND field = ?2";
constexpr std::string_view kHashHasFields = "SELECT 1 FROM hash_fields WHERE key = ?1 LIMIT 1";
constexpr std::string_view kHashHasField =
    "SELECT 1 FROM hash_fields WHERE key = ?1 AND field = ?2";
constexpr std::string_view kHashLength = "SELECT count(*) FROM hash_fields WHERE key = ?1";
constexpr std::string_view kInsertItem =
    "INSERT INTO list_items(key, seq, value) VALUES(?1, ?2, ?3)";
// Reads of a hash or list join the entry, so type, expiry and content come from one snapshot.
// Columns 0-2 are the entry's (as in kSelectEntry), 3.. the child's (NULL when it has none).
constexpr std::string_view kSelectField =
    "SELECT e.type, e.value, e.expires_at, h.value FROM entries e "
    "LEFT JOIN hash_fields h ON h.key = e.key AND h.field = ?2 WHERE e.key = ?1";
constexpr std::string_view kSelectFields =
    "SELECT e.type, e.value, e.expires_at, h.field, h.value FROM entries e "
    "LEFT JOIN hash_fields h ON h.key = e.key WHERE e.key = ?1";
constexpr std::string_view kSelectItems =
    "SELECT e.type, e.value, e.expires_at, l.value FROM entries e "
    "LEFT JOIN list_items l ON l.key = e.key WHERE e.key = ?1 ORDER BY l.seq";

struct EntryRow {
  EntryType type = EntryType::string;
  std::string value;        // type string
  std::int64_t length = 0;  // type list: item count, also the last seq
  std::optional<std::int64_t> expires_at;

  bool expired(std::int64_t now) const { return expires_at && *expires_at <= now; }
};

// What entries.value holds: the string, nothing (hash), or the list length.
using EntryValue = std::variant<std::monostate, std::string_view, std::int64_t>;

Error wrong_type(std::string const& key) {
  return core::make_error(core::Errc::invalid, "key '" + key + "' holds another type");
}

std::optional<std::int64_t> deadline(std::optional<Millis> ttl, std::int64_t now) {
  if (!ttl) return std::nullopt;
  return now + ttl->count();
}

EntryRow entry_from(SqliteQuery const& q) {
  EntryRow e;
  e.type = static_cast<EntryType>(q.column_int(0));
  if (e.type == EntryType::string) e.value = q.column_blob(1);
  if (e.type == EntryType::list) e.length = q.column_int(1);
  e.expires_at = q.column_optional_int(2);
  return e;
}

// The row as stored, expired or not.
Result<std::optional<EntryRow>> read_entry(SqliteConnection& c, std::string const& key) {
  auto q = c.query(kSelectEntry);
  if (!q) return q.error();
  q->bind_blob(1, key);
  auto row = q->step();
  if (!row) return row.error();
  if (!*row) return std::optional<EntryRow>{};
  return std::optional<EntryRow>{entry_from(*q)};
}

Result<void> run(SqliteConnection& c, std::string_view sql, std::string const& key) {
  auto q = c.query(sql);
  if (!q) return q.error();
  q->bind_blob(1, key);
  return q->run();
}

Result<void> remove_children(SqliteConnection& c, std::string const& key, EntryType type) {
  if (type == EntryType::hash) return run(c, kDeleteHash, key);
  if (type == EntryType::list) return run(c, kDeleteList, key);
  return {};
}

// Deletes a key of any type. Caller holds a write transaction.
Result<void> remove_key(SqliteConnection& c, std::string const& key, EntryType type) {
  if (auto r = remove_children(c, key, type); !r) return r;
  return run(c, kDeleteEntry, key);
}

// The live entry for key, deleting it first if it has expired. Caller holds a write transaction.
Result<std::optional<EntryRow>> find_live(SqliteConnection& c, std::string const& key,
                                          std::int64_t now) {
  auto entry = read_entry(c, key);
  if (!entry || !*entry || !(*entry)->expired(now)) return entry;
  if (auto r = remove_key(c, key, (*entry)->type); !r) return r.error();
  return std::optional<EntryRow>{};
}

// Creates or replaces the entry row (not its children). Caller holds a write transaction.
Result<void> write_entry(SqliteConnection& c, std::string const& key, EntryType type,
                         EntryValue value, std::optional<std::int64_t> expires_at) {
  auto q = c.query(kUpsertEntry);
  if (!q) return q.error();
  q->bind_blob(1, key).bind_int(2, static_cast<std::int64_t>(type)).bind_optional_int(4, expires_at);
  if (auto* s = std::get_if<std::string_view>(&value)) q->bind_blob(3, *s);
  if (auto* n = std::get_if<std::int64_t>(&value)) q->bind_int(3, *n);
  return q->run();  // an unbound ?3 is NULL: the hash case
}

Result<void> update(SqliteConnection& c, std::string_view sql, std::string const& key,
                    std::optional<std::int64_t> number) {
  auto q = c.query(sql);
  if (!q) return q.error();
  q->bind_blob(1, key).bind_optional_int(2, number);
  return q->run();
}

Result<void> update_value(SqliteConnection& c, std::string const& key, std::string const& value) {
  auto q = c.query(kUpdateValue);
  if (!q) return q.error();
  q->bind_blob(1, key).bind_blob(2, value);
  return q->run();
}

// A read found the key expired: delete it now, in its own write transaction, unless another
// connection has already deleted or rewritten it. Best effort: the read's answer (absent) stands
// whatever happens here, and the sweep catches what this misses. Runs after the read's
// statement was reset, so this connection holds no stale snapshot.
void purge_if_expired(SqliteConnection& c, std::string const& key, std::int64_t now) {
  (void)in_write_transaction(c, [&]() -> Result<void> {
    std::optional<EntryType> type;
    {
      auto q = c.query(kDeleteIfExpired);
      if (!q) return q.error();
      q->bind_blob(1, key).bind_int(2, now);
      auto row = q->step();
      if (!row) return row.error();
      if (*row) type = static_cast<EntryType>(q->column_int(0));
    }
    if (!type) return {};
    return remove_children(c, key, *type);
  });
}

enum class Found { absent, expired, live };

// Steps a joined read (kSelectField/kSelectFields/kSelectItems): checks the entry on the first
// row, then hands every row that has a child to on_child.
template <class F>
Result<Found> scan_joined(SqliteQuery& q, std::string const& key, EntryType want,
                          std::int64_t now, F on_child) {
  for (bool first = true;; first = false) {
    auto row = q.step();
    if (!row) return row.error();
    if (!*row) return first ? Found::absent : Found::live;
    if (first) {
      EntryRow e = entry_from(q);
      if (e.expired(now)) return Found::expired;
      if (e.type != want) return wrong_type(key);
    }
    if (!q.is_null(3)) on_child(q);
  }
}

// SET: replaces a key of any type, as in Redis: a hash's fields or a list's items go with it.
// Caller holds a write transaction.
Result<void> set_key(SqliteConnection& c, std::string const& key, std::string const& value,
                     std::optional<Millis> ttl, std::int64_t now) {
  auto entry = find_live(c, key, now);
  if (!entry) return entry.error();
  if (*entry && (*entry)->type != EntryType::string) {
    if (auto r = remove_children(c, key, (*entry)->type); !r) return r;
  }
  return write_entry(c, key, EntryType::string, std::string_view(value), deadline(ttl, now));
}

// DEL: true if a live key existed. Caller holds a write transaction.
Result<bool> del_key(SqliteConnection& c, std::string const& key, std::int64_t now) {
  auto entry = find_live(c, key, now);
  if (!entry) return entry.error();
  if (!*entry) return false;
  if (auto r = remove_key(c, key, (*entry)->type); !r) return r.error();
  return true;
}

// HSET (fields) and, with a ttl, the key's TTL. Caller holds a write transaction.
template <class FieldRange>
Result<void> hset_key(SqliteConnection& c, std::string const& key, FieldRange const& fields,
                      std::optional<Millis> ttl, std::int64_t now) {
  auto entry = find_live(c, key, now);
  if (!entry) return entry.error();
  if (*entry) {
    if ((*entry)->type != EntryType::hash) return wrong_type(key);
    // Without a ttl the key keeps the TTL it has: rolling expiry is the caller's choice.
    if (ttl) {
      if (auto r = update(c, kUpdateExpiry, key, deadline(ttl, now)); !r) return r;
    }
  } else {
    if (std::empty(fields)) return {};  // a hash without fields does not exist
    auto created = write_entry(c, key, EntryType::hash, std::monostate{}, deadline(ttl, now));
    if (!created) return created;
  }
  for (auto const& [field, value] : fields) {
    auto q = c.query(kUpsertField);
    if (!q) return q.error();
    q->bind_blob(1, key).bind_blob(2, field).bind_blob(3, value);
    if (auto r = q->run(); !r) return r;
  }
  return {};
}

// RPUSH and, with a ttl, the key's TTL (without one, a list keeps the TTL it has); returns the
// new length. Caller holds a write transaction.
Result<std::int64_t> push_key(SqliteConnection& c, std::string const& key, std::string const& value,
                              std::optional<Millis> ttl, std::int64_t now) {
  auto entry = find_live(c, key, now);
  if (!entry) return entry.error();
  if (*entry && (*entry)->type != EntryType::list) return wrong_type(key);
  std::int64_t length = *entry ? (*entry)->length + 1 : 1;
  {
    auto q = c.query(kInsertItem);
    if (!q) return q.error();
    q->bind_blob(1, key).bind_int(2, length).bind_blob(3, value);
    if (auto r = q->run(); !r) return r.error();
  }
  // The length lives on the entry, so a push costs O(log n) rather than a count of the list.
  auto written = *entry ? update(c, kUpdateValue, key, length)
                        : write_entry(c, key, EntryType::list, length, deadline(ttl, now));
  if (!written) return written.error();
  if (*entry && ttl) {
    if (auto r = update(c, kUpdateExpiry, key, deadline(ttl, now)); !r) return r.error();
  }
  return length;
}

Result<std::int64_t> parse_counter(std::string const& key, std::string const& text) {
  std::int64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || ptr != text.data() + text.size())
    return core::make_error(core::Errc::invalid, "key '" + key + "' is not an integer");
  return n;
}

}  // namespace

Result<void> SqliteKeyspace::ping(SqliteConnection& c) const {
  auto q = c.query("SELECT 1 FROM entries LIMIT 1");
  if (!q) return q.error();
  auto row = q->step();
  if (!row) return row.error();
  return {};
}

Result<std::optional<std::string>> SqliteKeyspace::get(SqliteConnection& c,
                                                       std::string const& key) const {
  std::int64_t now = clock_.now_ms();
  auto entry = read_entry(c, key);
  if (!entry) return entry.error();
  if (!*entry) return std::optional<std::string>{};
  if ((*entry)->expired(now)) {
    purge_if_expired(c, key, now);
    return std::optional<std::string>{};
  }
  if ((*entry)->type != EntryType::string) return wrong_type(key);
  return std::optional<std::string>{std::move((*entry)->value)};
}

Result<void> SqliteKeyspace::set(SqliteConnection& c, std::string const& key,
                                 std::string const& value, std::optional<Millis> ttl) const {
  std::int64_t now = clock_.now_ms();
  return in_write_transaction(c, [&] { return set_key(c, key, value, ttl, now); });
}

Result<bool> SqliteKeyspace::set_if_absent(SqliteConnection& c, std::string const& key,
                                           std::string const& value,
                                           std::optional<Millis> ttl) const {
  std::int64_t now = clock_.now_ms();
  return in_write_transaction(c, [&]() -> Result<bool> {
    auto entry = find_live(c, key, now);
    if (!entry) return entry.error();
    if (*entry) return false;
    auto written = write_entry(c, key, EntryType::string, std::string_view(value), deadline(ttl, now));
    if (!written) return written.error();
    return true;
  });
}

Result<bool> SqliteKeyspace::del(SqliteConnection& c, std::string const& key) const {
  std::int64_t now = clock_.now_ms();
  return in_write_transaction(c, [&] { return del_key(c, key, now); });
}

Result<bool> SqliteKeyspace::expire(SqliteConnection& c, std::string const& key, Millis ttl) const {
  std::int64_t now = clock_.now_ms();
  return in_write_transaction(c, [&] { return expire_within(c, key, ttl, now); });
}

Result<std::optional<std::string>> SqliteKeyspace::get_within(SqliteConnection& c, std::string const& key,
                                                              std::int64_t now) const {
  auto entry = find_live(c, key, now);
  if (!entry) return entry.error();
  if (!*entry) return std::optional<std::string>{};
  if ((*entry)->type != EntryType::string) return wrong_type(key);
  return std::optional<std::string>{std::move((*entry)->value)};
}

Result<void> SqliteKeyspace::set_within(SqliteConnection& c, std::string const& key, std::string const& value,
                                        std::optional<Millis> ttl, std::int64_t now) const {
  return set_key(c, key, value, ttl, now);
}

Result<bool> SqliteKeyspace::expire_within(SqliteConnection& c, std::string const& key, Millis ttl,
                                           std::int64_t now) const {
  auto entry = find_live(c, key, now);
  if (!entry) return entry.error();
  if (!*entry) return false;
  if (auto r = update(c, kUpdateExpiry, key, deadline(ttl, now)); !r) return r.error();
  return true;
}

Result<std::int64_t> SqliteKeyspace::pttl(SqliteConnection& c, std::string const& key) const {
  std::int64_t now = clock_.now_ms();
  auto entry = read_entry(c, key);
  if (!entry) return entry.error();
  if (!*entry) return kNoKey;
  if ((*entry)->expired(now)) {
    purge_if_expired(c, key, now);
    return kNoKey;
  }
  if (!(*entry)->expires_at) return kNoExpiry;
  return *(*entry)->expires_at - now;
}

Result<bool> SqliteKeyspace::compare_and_set(SqliteConnection& c, std::string const& key,
                                             std::optional<std::string> const& expected,
                                             std::string const& desired,
                                             std::optional<Millis> ttl) const {
  std::int64_t now = clock_.now_ms();
  return in_write_transaction(c, [&]() -> Result<bool> {
    auto entry = find_live(c, key, now);
    if (!entry) return entry.error();
    if (*entry) {
      if ((*entry)->type != EntryType::string) return wrong_type(key);
      if (!expected || *expected != (*entry)->value) return false;
    } else if (expected) {
      return false;
    }
    auto written = write_entry(c, key, EntryType::string, std::string_view(desired), deadline(ttl, now));
    if (!written) return written.error();
    return true;
  });
}

Result<std::int64_t> SqliteKeyspace::incr_by(SqliteConnection& c, std::string const& key,
                                             std::int64_t delta) const {
  std::int64_t now = clock_.now_ms();
  return in_write_transaction(c, [&]() -> Result<std::int64_t> {
    auto entry = find_live(c, key, now);
    if (!entry) return entry.error();
    std::int64_t current = 0;
    if (*entry) {
      if ((*entry)->type != EntryType::string) return wrong_type(key);
      auto parsed = parse_counter(key, (*entry)->value);
      if (!parsed) return parsed.error();
      current = *parsed;
    }
    std::int64_t next = 0;
    if (__builtin_add_overflow(current, delta, &next))
      return core::make_error(core::Errc::invalid, "incrementing key '" + key + "' would overflow");
    std::string text = std::to_string(next);
    // An existing key keeps its TTL: only the value column changes.
    auto written = *entry ? update_value(c, key, text)
                          : write_entry(c, key, EntryType::string, std::string_view(text), std::nullopt);
    if (!written) return written.error();
    return next;
  });
}

Result<std::optional<std::string>> SqliteKeyspace::hget(SqliteConnection& c, std::string const& key,
                                                        std::string const& field) const {
  std::int64_t now = clock_.now_ms();
  std::optional<std::string> value;
  Result<Found> found = Found::absent;
  {
    auto q = c.query(kSelectField);
    if (!q) return q.error();
    q->bind_blob(1, key).bind_blob(2, field);
    found = scan_joined(*q, key, EntryType::hash, now,
                        [&](SqliteQuery const& row) { value = row.column_blob(3); });
  }
  if (!found) return found.error();
  if (*found == Found::expired) {
    purge_if_expired(c, key, now);
    return std::optional<std::string>{};
  }
  return value;
}

Result<FieldMap> SqliteKeyspace::hgetall(SqliteConnection& c, std::string const& key) const {
  std::int64_t now = clock_.now_ms();
  FieldMap fields;
  Result<Found> found = Found::absent;
  {
    auto q = c.query(kSelectFields);
    if (!q) return q.error();
    q->bind_blob(1, key);
    found = scan_joined(*q, key, EntryType::hash, now, [&](SqliteQuery const& row) {
      fields.emplace(row.column_blob(3), row.column_blob(4));
    });
  }
  if (!found) return found.error();
  if (*found == Found::expired) {
    purge_if_expired(c, key, now);
    return FieldMap{};
  }
  return fields;
}

Result<void> SqliteKeyspace::hset(SqliteConnection& c, std::string const& key, Fields const& fields,
                                  std::optional<Millis> ttl) const {
  std::int64_t now = clock_.now_ms();
  return in_write_transaction(c, [&] { return hset_key(c, key, fields, ttl, now); });
}

Result<std::int64_t> SqliteKeyspace::hdel(SqliteConnection& c, std::string const& key,
                                          std::vector<std::string> const& fields) const {
  std::int64_t now = clock_.now_ms();
  return in_write_transaction(c, [&]() -> Result<std::int64_t> {
    auto entry = find_live(c, key, now);
    if (!entry) return entry.error();
    if (!*entry) return std::int64_t{0};
    if ((*entry)->type != EntryType::hash) return wrong_type(key);
    std::int64_t removed = 0;
    for (auto const& field : fields) {
      auto q = c.query(kDeleteField);
      if (!q) return q.error();
      q->bind_blob(1, key).bind_blob(2, field);
      if (auto r = q->run(); !r) return r.error();
      removed += q->changes();
    }
    bool has_fields = false;
    {
      auto q = c.query(kHashHasFields);
      if (!q) return q.error();
      q->bind_blob(1, key);
      auto row = q->step();
      if (!row) return row.error();
      has_fields = *row;
    }
    if (!has_fields) {  // a hash left empty disappears, TTL and all
      if (auto r = run(c, kDeleteEntry, key); !r) return r.error();
    }
    return removed;
  });
}

Result<std::int64_t> SqliteKeyspace::list_push(SqliteConnection& c, std::string const& key,
                                               std::string const& value) const {
  std::int64_t now = clock_.now_ms();
  return in_write_transaction(c, [&] { return push_key(c, key, value, std::nullopt, now); });
}

Result<std::vector<std::string>> SqliteKeyspace::list_range(SqliteConnection& c,
                                                            std::string const& key) const {
  std::int64_t now = clock_.now_ms();
  std::vector<std::string> items;
  Result<Found> found = Found::absent;
  {
    auto q = c.query(kSelectItems);
    if (!q) return q.error();
    q->bind_blob(1, key);
    found = scan_joined(*q, key, EntryType::list, now,
                        [&](SqliteQuery const& row) { items.push_back(row.column_blob(3)); });
  }
  if (!found) return found.error();
  if (*found == Found::expired) {
    purge_if_expired(c, key, now);
    return std::vector<std::string>{};
  }
  return items;
}

Result<bool> SqliteKeyspace::commit_if(SqliteConnection& c,
                                       std::vector<Condition> const& conditions,
                                       std::vector<Write> const& writes) const {
  std::int64_t now = clock_.now_ms();
  return in_write_transaction(c, [&]() -> Result<bool> {
    // The live type of every key involved (nullopt: absent), read once; expired keys are
    // deleted on the way, as any writer does. Then, as the memory store: (1) every condition's
    // key and every write's key (as the earlier writes leave it) is checked for its type, (2) the
    // conditions are evaluated, (3) the writes are applied. A type error wins over a false
    // condition; an error in (3) rolls the whole transaction back.
    std::map<std::string_view, std::optional<EntryType>> types;
    auto type_of = [&](std::string const& key) -> Result<std::optional<EntryType>*> {
      auto it = types.find(key);
      if (it != types.end()) return &it->second;
      auto entry = find_live(c, key, now);
      if (!entry) return entry.error();
      std::optional<EntryType> type;
      if (*entry) type = (*entry)->type;
      return &types.emplace(key, type).first->second;
    };

    bool holds = true;
    for (Condition const& cond : conditions) {
      auto type = type_of(cond.key);
      if (!type) return type.error();
      std::optional<EntryType> const& t = **type;
      if (cond.kind == Condition::Kind::key_absent) {
        holds = holds && !t;
        continue;
      }
      if (cond.kind == Condition::Kind::value_equals) {
        // Any type may be asked: a hash or a list simply is not the value (a fence check).
        if (!holds) continue;
        if (t != EntryType::string) {
          holds = false;
          continue;
        }
        auto entry = read_entry(c, cond.key);  // live: type_of deleted it if it had expired
        if (!entry) return entry.error();
        holds = *entry && (*entry)->value == cond.field;
        continue;
      }
      if (t && *t != EntryType::hash) return wrong_type(cond.key);
      if (!holds) continue;  // the answer is false already; only types are left to check
      if (cond.kind == Condition::Kind::hash_field_absent) {
        if (!t) continue;
        auto q = c.query(kHashHasField);
        if (!q) return q.error();
        q->bind_blob(1, cond.key).bind_blob(2, cond.field);
        auto row = q->step();
        if (!row) return row.error();
        holds = !*row;
      } else {
        std::int64_t length = 0;
        if (t) {
          auto q = c.query(kHashLength);
          if (!q) return q.error();
          q->bind_blob(1, cond.key);
          auto row = q->step();
          if (!row) return row.error();
          length = *row ? q->column_int(0) : 0;
        }
        holds = length == cond.count;
      }
    }

    // Conditions were judged on the keys as they were; the writes' check works on a copy that
    // each write updates (a set makes a string, a del nothing, a ttl <= 0 expires on arrival).
    for (Write const& w : writes) {
      if (auto type = type_of(w.key); !type) return type.error();
    }
    auto shapes = types;
    for (Write const& w : writes) {
      std::optional<EntryType>& t = shapes.find(w.key)->second;
      bool gone_at_once = w.ttl && w.ttl->count() <= 0;
      switch (w.kind) {
        case Write::Kind::set:
          t = gone_at_once ? std::nullopt : std::optional<EntryType>(EntryType::string);
          break;
        case Write::Kind::hset:
          if (t && *t != EntryType::hash) return wrong_type(w.key);
          t = gone_at_once ? std::nullopt : std::optional<EntryType>(EntryType::hash);
          break;
        case Write::Kind::del:
          t.reset();
          break;
        case Write::Kind::push:
          if (t && *t != EntryType::list) return wrong_type(w.key);
          t = gone_at_once ? std::nullopt : std::optional<EntryType>(EntryType::list);
          break;
      }
    }
    if (!holds) return false;

    for (Write const& w : writes) {
      Result<void> written;
      switch (w.kind) {
        case Write::Kind::set:
          written = set_key(c, w.key, w.value, w.ttl, now);
          break;
        case Write::Kind::hset: {
          std::array<std::pair<std::string_view, std::string_view>, 1> field{{{w.field, w.value}}};
          written = hset_key(c, w.key, field, w.ttl, now);
          break;
        }
        case Write::Kind::del:
          if (auto r = del_key(c, w.key, now); !r) written = r.error();
          break;
        case Write::Kind::push:
          if (auto r = push_key(c, w.key, w.value, w.ttl, now); !r) written = r.error();
          break;
      }
      if (!written) return written.error();
    }
    return true;
  });
}

Result<std::int64_t> SqliteKeyspace::sweep(SqliteConnection& c, std::int64_t limit) const {
  std::int64_t now = clock_.now_ms();
  return in_write_transaction(c, [&]() -> Result<std::int64_t> {
    std::vector<std::pair<std::string, EntryType>> removed;
    {
      auto q = c.query(kDeleteExpired);
      if (!q) return q.error();
      q->bind_int(1, now).bind_int(2, limit);
      for (;;) {
        auto row = q->step();
        if (!row) return row.error();
        if (!*row) break;
        removed.emplace_back(q->column_blob(0), static_cast<EntryType>(q->column_int(1)));
      }
    }
    for (auto const& [key, type] : removed) {
      if (auto r = remove_children(c, key, type); !r) return r.error();
    }
    return static_cast<std::int64_t>(removed.size());
  });
}

}  // namespace outboard::state
