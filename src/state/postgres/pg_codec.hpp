#pragma once
// What crosses the wire for the postgres backend, without libpq in the header: statement
// parameters encoded in PostgreSQL's binary format (so any bytes round-trip, and no value is ever
// spliced into SQL text), and result rows as the raw binary values the server sent back.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace outboard::state {

// PostgreSQL type OIDs (pg_type.dat), the ones this backend sends.
enum class PgType : unsigned {
  boolean = 16,
  bytea = 17,
  int8 = 20,
  int4 = 23,
  int4_array = 1007,
  bytea_array = 1001,
  int8_array = 1016,
};

// The parameters of one statement, $1 upwards, each in binary format.
class PgParams {
 public:
  PgParams& bytes(std::string_view value);
  PgParams& optional_bytes(std::optional<std::string_view> value);
  PgParams& boolean(bool value);
  PgParams& int8(std::int64_t value);
  PgParams& optional_int8(std::optional<std::int64_t> value);
  PgParams& bytes_array(std::vector<std::string_view> const& values);
  PgParams& int4_array(std::vector<std::int32_t> const& values);
  PgParams& int8_array(std::vector<std::optional<std::int64_t>> const& values);

  int count() const { return static_cast<int>(types_.size()); }
  std::vector<unsigned> const& types() const { return types_; }
  // Pointers into this object: valid while it lives and is not changed. NULL for a SQL NULL.
  std::vector<char const*> values() const;
  std::vector<int> lengths() const;

 private:
  void add(PgType type, std::optional<std::string> encoded);

  std::vector<unsigned> types_;
  std::vector<std::optional<std::string>> encoded_;
};

// A statement's answer: rows of columns, each the binary value or nullopt for NULL.
struct PgRows {
  std::vector<std::vector<std::optional<std::string>>> rows;

  // The single value of a one-row, one-column answer (nullopt when NULL or no row).
  std::optional<std::string> const* first() const;
};

// Binary decoders of the values the store's functions return; Errc::internal on a size mismatch.
core::Result<std::int64_t> decode_int8(std::optional<std::string> const& value);
core::Result<bool> decode_bool(std::optional<std::string> const& value);

// A one-value answer (SELECT f(...)) decoded, or the statement's error; Errc::internal when the
// statement returned no row.
core::Result<std::optional<std::string>> single_value(core::Result<PgRows> const& rows);
core::Result<bool> single_bool(core::Result<PgRows> const& rows);

}  // namespace outboard::state
