#include "state/postgres/postgres_store.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <stdexcept>
#include <utility>

#include "state/postgres/pg_codec.hpp"
#include "state/postgres/pg_connection.hpp"
#include "state/postgres/pg_migrations.hpp"

namespace outboard::state {
namespace {

namespace asio = boost::asio;

// Every call is one statement: a function of the schema (pg_schema_sql.cpp) with $n parameters.
constexpr char const* kPing = "SELECT 1::int8";
constexpr char const* kGet = "SELECT outboard_get($1)";
constexpr char const* kSet = "SELECT outboard_set($1, $2, $3)";
constexpr char const* kSetIfAbsent = "SELECT outboard_set_if_absent($1, $2, $3)";
constexpr char const* kDel = "SELECT outboard_del($1)";
constexpr char const* kExpire = "SELECT outboard_expire($1, $2)";
constexpr char const* kPttl = "SELECT outboard_pttl($1)";
constexpr char const* kCompareAndSet = "SELECT outboard_compare_and_set($1, $2, $3, $4)";
constexpr char const* kIncrBy = "SELECT outboard_incr_by($1, $2)";
constexpr char const* kHget = "SELECT outboard_hget($1, $2)";
constexpr char const* kHgetall = "SELECT field, value FROM outboard_hgetall($1)";
constexpr char const* kHset = "SELECT outboard_hset($1, $2, $3, $4)";
constexpr char const* kHdel = "SELECT outboard_hdel($1, $2)";
constexpr char const* kListPush = "SELECT outboard_list_push($1, $2)";
constexpr char const* kListRange = "SELECT v FROM outboard_list_range($1) AS v";
constexpr char const* kCommitIf = "SELECT outboard_commit_if($1, $2, $3, $4, $5, $6, $7, $8, $9)";

std::optional<std::int64_t> ttl_ms(std::optional<Millis> ttl) {
  if (!ttl) return std::nullopt;
  return ttl->count();
}

// The single value of a one-value answer, copied out.
Result<std::optional<std::string>> single(Result<PgRows> const& rows) {
  if (!rows) return rows.error();
  auto const* value = rows->first();
  if (!value) return core::make_error(Errc::internal, "postgres: the statement returned no row");
  return *value;
}

Result<bool> as_bool(Result<PgRows> const& rows) {
  auto value = single(rows);
  if (!value) return value.error();
  return decode_bool(*value);
}

Result<std::int64_t> as_int8(Result<PgRows> const& rows) {
  auto value = single(rows);
  if (!value) return value.error();
  return decode_int8(*value);
}

class PostgresStore final : public Store {
 public:
  explicit PostgresStore(std::shared_ptr<PgConnection> connection) : db_(std::move(connection)) {}
  ~PostgresStore() override { db_->close(); }

  std::string_view backend() const override { return "postgres"; }

  Async<void> ping() override {
    auto db = db_;
    PgParams params = PgParams{};
    auto rows = co_await db->execute(kPing, std::move(params));
    if (!rows) co_return rows.error();
    co_return Result<void>{};
  }

  Async<std::optional<std::string>> get(std::string key) override {
    auto db = db_;
    PgParams params = PgParams{}.bytes(key);
    auto rows = co_await db->execute(kGet, std::move(params));
    co_return single(rows);
  }

  Async<void> set(std::string key, std::string value, std::optional<Millis> ttl) override {
    auto db = db_;
    PgParams params = PgParams{}.bytes(key).bytes(value).optional_int8(ttl_ms(ttl));
    auto rows = co_await db->execute(kSet, std::move(params));
    if (!rows) co_return rows.error();
    co_return Result<void>{};
  }

  Async<bool> set_if_absent(std::string key, std::string value, std::optional<Millis> ttl) override {
    auto db = db_;
    PgParams params = PgParams{}.bytes(key).bytes(value).optional_int8(ttl_ms(ttl));
    auto rows = co_await db->execute(kSetIfAbsent, std::move(params));
    co_return as_bool(rows);
  }

  Async<bool> del(std::string key) override {
    auto db = db_;
    PgParams params = PgParams{}.bytes(key);
    auto rows = co_await db->execute(kDel, std::move(params));
    co_return as_bool(rows);
  }

  Async<bool> expire(std::string key, Millis ttl) override {
    auto db = db_;
    PgParams params = PgParams{}.bytes(key).int8(ttl.count());
    auto rows = co_await db->execute(kExpire, std::move(params));
    co_return as_bool(rows);
  }

  Async<std::int64_t> pttl(std::string key) override {
    auto db = db_;
    PgParams params = PgParams{}.bytes(key);
    auto rows = co_await db->execute(kPttl, std::move(params));
    co_return as_int8(rows);
  }

  Async<bool> compare_and_set(std::string key, std::optional<std::string> expected, std::string desired,
                              std::optional<Millis> ttl) override {
    auto db = db_;
    std::optional<std::string_view> expected_view;
    if (expected) expected_view = *expected;
    auto params = PgParams{}.bytes(key).optional_bytes(expected_view).bytes(desired).optional_int8(ttl_ms(ttl));
    auto rows = co_await db->execute(kCompareAndSet, std::move(params));
    co_return as_bool(rows);
  }

  Async<std::int64_t> incr_by(std::string key, std::int64_t delta) override {
    auto db = db_;
    PgParams params = PgParams{}.bytes(key).int8(delta);
    auto rows = co_await db->execute(kIncrBy, std::move(params));
    co_return as_int8(rows);
  }

  Async<std::optional<std::string>> hget(std::string key, std::string field) override {
    auto db = db_;
    PgParams params = PgParams{}.bytes(key).bytes(field);
    auto rows = co_await db->execute(kHget, std::move(params));
    co_return single(rows);
  }

  Async<FieldMap> hgetall(std::string key) override {
    auto db = db_;
    PgParams params = PgParams{}.bytes(key);
    auto rows = co_await db->execute(kHgetall, std::move(params));
    if (!rows) co_return rows.error();
    FieldMap fields;
    for (auto& row : rows->rows) {
      if (row.size() == 2 && row[0] && row[1]) fields.emplace(std::move(*row[0]), std::move(*row[1]));
    }
    co_return fields;
  }

  Async<void> hset(std::string key, Fields fields, std::optional<Millis> ttl) override {
    auto db = db_;
    std::vector<std::string_view> names;
    std::vector<std::string_view> values;
    for (auto const& [name, value] : fields) {
      names.push_back(name);
      values.push_back(value);
    }
    auto params = PgParams{}.bytes(key).bytes_array(names).bytes_array(values).optional_int8(ttl_ms(ttl));
    auto rows = co_await db->execute(kHset, std::move(params));
    if (!rows) co_return rows.error();
    co_return Result<void>{};
  }

  Async<std::int64_t> hdel(std::string key, std::vector<std::string> fields) override {
    auto db = db_;
    std::vector<std::string_view> names(fields.begin(), fields.end());
    PgParams params = PgParams{}.bytes(key).bytes_array(names);
    auto rows = co_await db->execute(kHdel, std::move(params));
    co_return as_int8(rows);
  }

  Async<std::int64_t> list_push(std::string key, std::string value) override {
    auto db = db_;
    PgParams params = PgParams{}.bytes(key).bytes(value);
    auto rows = co_await db->execute(kListPush, std::move(params));
    co_return as_int8(rows);
  }

  Async<std::vector<std::string>> list_range(std::string key) override {
    auto db = db_;
    PgParams params = PgParams{}.bytes(key);
    auto rows = co_await db->execute(kListRange, std::move(params));
    if (!rows) co_return rows.error();
    std::vector<std::string> items;
    for (auto& row : rows->rows) {
      if (!row.empty() && row[0]) items.push_back(std::move(*row[0]));
    }
    co_return items;
  }

  Async<bool> commit_if(std::vector<Condition> conditions, std::vector<Write> writes) override {
    auto db = db_;
    auto params = commit_params(conditions, writes);
    auto rows = co_await db->execute(kCommitIf, std::move(params));
    co_return as_bool(rows);
  }

 private:
  // commit_if's conditions and writes as parallel arrays, the enums' values as kinds (the
  // function's numbering follows Condition::Kind and Write::Kind).
  static PgParams commit_params(std::vector<Condition> const& conditions, std::vector<Write> const& writes) {
    std::vector<std::int32_t> ckinds;
    std::vector<std::string_view> ckeys;
    std::vector<std::string_view> cfields;
    std::vector<std::optional<std::int64_t>> ccounts;
    for (Condition const& c : conditions) {
      ckinds.push_back(static_cast<std::int32_t>(c.kind));
      ckeys.push_back(c.key);
      cfields.push_back(c.field);
      ccounts.push_back(c.count);
    }
    std::vector<std::int32_t> wkinds;
    std::vector<std::string_view> wkeys;
    std::vector<std::string_view> wfields;
    std::vector<std::string_view> wvalues;
    std::vector<std::optional<std::int64_t>> wttls;
    for (Write const& w : writes) {
      wkinds.push_back(static_cast<std::int32_t>(w.kind));
      wkeys.push_back(w.key);
      wfields.push_back(w.field);
      wvalues.push_back(w.value);
      wttls.push_back(ttl_ms(w.ttl));
    }
    PgParams params;
    params.int4_array(ckinds).bytes_array(ckeys).bytes_array(cfields).int8_array(ccounts);
    params.int4_array(wkinds).bytes_array(wkeys).bytes_array(wfields).bytes_array(wvalues).int8_array(wttls);
    return params;
  }

  std::shared_ptr<PgConnection> db_;
};

static_assert(static_cast<int>(Condition::Kind::key_absent) == 0 &&
              static_cast<int>(Condition::Kind::hash_field_absent) == 1 &&
              static_cast<int>(Condition::Kind::hash_len_equals) == 2 &&
              static_cast<int>(Condition::Kind::value_equals) == 3);
static_assert(static_cast<int>(Write::Kind::set) == 0 && static_cast<int>(Write::Kind::hset) == 1 &&
              static_cast<int>(Write::Kind::del) == 2 && static_cast<int>(Write::Kind::push) == 3);

// One connection per worker thread, made lazily on its first call.
class PostgresProvider final : public StoreProvider {
 public:
  explicit PostgresProvider(PgEndpoint endpoint) : endpoint_(std::move(endpoint)) {}
  std::string_view backend() const override { return "postgres"; }
  std::shared_ptr<Store> store_for(asio::any_io_executor executor) override {
    return std::make_shared<PostgresStore>(PgConnection::create(std::move(executor), endpoint_));
  }

 private:
  PgEndpoint endpoint_;
};

}  // namespace

std::unique_ptr<StoreProvider> make_postgres_provider(StoreUrl const& url, StoreOptions const& options) {
  PgEndpoint endpoint;
  endpoint.url = url.raw;
  endpoint.redacted = redact_store_url(url.raw);
  endpoint.command_timeout = options.command_timeout;
  // Start-up: the schema is brought up to date now, so a server that cannot reach its database,
  // or finds one newer than itself, refuses to start with the reason (std::runtime_error).
  // Migrations may take longer than one command: they get at least 10 s.
  run_migrations(endpoint.url, std::max(options.command_timeout, Millis(10'000)));
  return std::make_unique<PostgresProvider>(std::move(endpoint));
}

}  // namespace outboard::state
