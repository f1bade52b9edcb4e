#include "state/postgres/postgres_store.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <stdexcept>
#include <utility>

#include "state/postgres/pg_codec.hpp"
#include "state/postgres/pg_connection.hpp"
#include "state/postgres/pg_database.hpp"

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

// How a statement's answer is read, once the call succeeded: one function per answer shape.
Result<void> no_value(PgRows&) { return Result<void>{}; }

// The single value of a one-value answer, copied out.
Result<std::optional<std::string>> single(PgRows& rows) {
  auto const* value = rows.first();
  if (!value) return core::make_error(Errc::internal, "postgres: the statement returned no row");
  return *value;
}

// The single value through one of pg_codec's decoders.
template <class T>
Result<T> single_decoded(PgRows& rows, Result<T> (*decode)(std::optional<std::string> const&)) {
  auto value = single(rows);
  if (!value) return value.error();
  return decode(*value);
}

Result<bool> as_bool(PgRows& rows) { return single_decoded(rows, decode_bool); }
Result<std::int64_t> as_int8(PgRows& rows) { return single_decoded(rows, decode_int8); }

// hgetall's (field, value) rows; rows with a NULL are skipped.
Result<FieldMap> as_fields(PgRows& rows) {
  FieldMap fields;
  for (auto& row : rows.rows) {
    if (row.size() == 2 && row[0] && row[1]) fields.emplace(std::move(*row[0]), std::move(*row[1]));
  }
  return fields;
}

// list_range's one-column rows.
Result<std::vector<std::string>> as_items(PgRows& rows) {
  std::vector<std::string> items;
  for (auto& row : rows.rows) {
    if (!row.empty() && row[0]) items.push_back(std::move(*row[0]));
  }
  return items;
}

class PostgresStore final : public Store {
 public:
  explicit PostgresStore(std::shared_ptr<PgConnection> connection) : db_(std::move(connection)) {}
  ~PostgresStore() override { db_->close(); }

  std::string_view backend() const override { return "postgres"; }

  Async<void> ping() override {
    PgParams none;
    co_return co_await call<void>(kPing, std::move(none), no_value);
  }

  Async<std::optional<std::string>> get(std::string key) override {
    PgParams params = PgParams{}.bytes(key);
    co_return co_await call<std::optional<std::string>>(kGet, std::move(params), single);
  }

  Async<void> set(std::string key, std::string value, std::optional<Millis> ttl) override {
    PgParams params = PgParams{}.bytes(key).bytes(value).optional_int8(ttl_ms(ttl));
    co_return co_await call<void>(kSet, std::move(params), no_value);
  }

  Async<bool> set_if_absent(std::string key, std::string value, std::optional<Millis> ttl) override {
    PgParams params = PgParams{}.bytes(key).bytes(value).optional_int8(ttl_ms(ttl));
    co_return co_await call<bool>(kSetIfAbsent, std::move(params), as_bool);
  }

  Async<bool> del(std::string key) override {
    PgParams params = PgParams{}.bytes(key);
    co_return co_await call<bool>(kDel, std::move(params), as_bool);
  }

  Async<bool> expire(std::string key, Millis ttl) override {
    PgParams params = PgParams{}.bytes(key).int8(ttl.count());
    co_return co_await call<bool>(kExpire, std::move(params), as_bool);
  }

  Async<std::int64_t> pttl(std::string key) override {
    PgParams params = PgParams{}.bytes(key);
    co_return co_await call<std::int64_t>(kPttl, std::move(params), as_int8);
  }

  Async<bool> compare_and_set(std::string key, std::optional<std::string> expected, std::string desired,
                              std::optional<Millis> ttl) override {
    std::optional<std::string_view> expected_view;
    if (expected) expected_view = *expected;
    auto params = PgParams{}.bytes(key).optional_bytes(expected_view).bytes(desired).optional_int8(ttl_ms(ttl));
    co_return co_await call<bool>(kCompareAndSet, std::move(params), as_bool);
  }

  Async<std::int64_t> incr_by(std::string key, std::int64_t delta) override {
    PgParams params = PgParams{}.bytes(key).int8(delta);
    co_return co_await call<std::int64_t>(kIncrBy, std::move(params), as_int8);
  }

  Async<std::optional<std::string>> hget(std::string key, std::string field) override {
    PgParams params = PgParams{}.bytes(key).bytes(field);
    co_return co_await call<std::optional<std::string>>(kHget, std::move(params), single);
  }

  Async<FieldMap> hgetall(std::string key) override {
    PgParams params = PgParams{}.bytes(key);
    co_return co_await call<FieldMap>(kHgetall, std::move(params), as_fields);
  }

  Async<void> hset(std::string key, Fields fields, std::optional<Millis> ttl) override {
    std::vector<std::string_view> names;
    std::vector<std::string_view> values;
    for (auto const& [name, value] : fields) {
      names.push_back(name);
      values.push_back(value);
    }
    auto params = PgParams{}.bytes(key).bytes_array(names).bytes_array(values).optional_int8(ttl_ms(ttl));
    co_return co_await call<void>(kHset, std::move(params), no_value);
  }

  Async<std::int64_t> hdel(std::string key, std::vector<std::string> fields) override {
    std::vector<std::string_view> names(fields.begin(), fields.end());
    PgParams params = PgParams{}.bytes(key).bytes_array(names);
    co_return co_await call<std::int64_t>(kHdel, std::move(params), as_int8);
  }

  Async<std::int64_t> list_push(std::string key, std::string value) override {
    PgParams params = PgParams{}.bytes(key).bytes(value);
    co_return co_await call<std::int64_t>(kListPush, std::move(params), as_int8);
  }

  Async<std::vector<std::string>> list_range(std::string key) override {
    PgParams params = PgParams{}.bytes(key);
    co_return co_await call<std::vector<std::string>>(kListRange, std::move(params), as_items);
  }

  Async<bool> commit_if(std::vector<Condition> conditions, std::vector<Write> writes) override {
    auto params = commit_params(conditions, writes);
    co_return co_await call<bool>(kCommitIf, std::move(params), as_bool);
  }

 private:
  // Every operation's one shape: run the statement, pass a failure on, else read the answer.
  // The connection is held by a copy so a store destroyed meanwhile leaves it alive until the
  // answer is in. `params` may view the caller's strings: the caller's frame outlives this one.
  template <class T>
  Async<T> call(char const* sql, PgParams params, Result<T> (*read)(PgRows&)) {
    auto db = db_;
    auto rows = co_await db->execute(sql, std::move(params));
    if (!rows) co_return rows.error();
    co_return read(*rows);
  }

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
  return std::make_unique<PostgresProvider>(open_postgres_database(url, options));
}

}  // namespace outboard::state
