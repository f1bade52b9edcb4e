#include "state/postgres/pg_codec.hpp"

#include <utility>

namespace outboard::state {
namespace {

// Network byte order, as every binary format of PostgreSQL uses.
void put_be(std::string& out, std::uint64_t value, int bytes) {
  for (int shift = (bytes - 1) * 8; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((value >> shift) & 0xff));
  }
}

void put_int32(std::string& out, std::int32_t value) { put_be(out, static_cast<std::uint32_t>(value), 4); }

// array_send's layout for a one-dimensional array: dimensions, a has-NULLs flag, the element
// type, then (size, lower bound 1) and each element as a length (-1: NULL) and its bytes.
// An empty array has no dimension at all.
template <class Element, class Encode>
std::string encode_array(PgType element_type, std::vector<Element> const& values, Encode encode) {
  std::vector<std::optional<std::string>> elements;
  elements.reserve(values.size());
  bool has_null = false;
  for (auto const& v : values) {
    elements.push_back(encode(v));
    has_null = has_null || !elements.back();
  }
  std::string out;
  put_int32(out, values.empty() ? 0 : 1);
  put_int32(out, has_null ? 1 : 0);
  put_int32(out, static_cast<std::int32_t>(element_type));
  if (!values.empty()) {
    put_int32(out, static_cast<std::int32_t>(values.size()));
    put_int32(out, 1);
  }
  for (auto const& e : elements) {
    put_int32(out, e ? static_cast<std::int32_t>(e->size()) : -1);
    if (e) out += *e;
  }
  return out;
}

std::string encode_int8(std::int64_t value) {
  std::string out;
  put_be(out, static_cast<std::uint64_t>(value), 8);
  return out;
}

}  // namespace

void PgParams::add(PgType type, std::optional<std::string> encoded) {
  types_.push_back(static_cast<unsigned>(type));
  encoded_.push_back(std::move(encoded));
}

PgParams& PgParams::bytes(std::string_view value) {
  add(PgType::bytea, std::string(value));
  return *this;
}

PgParams& PgParams::optional_bytes(std::optional<std::string_view> value) {
  add(PgType::bytea, value ? std::optional<std::string>(std::string(*value)) : std::nullopt);
  return *this;
}

PgParams& PgParams::boolean(bool value) {
  add(PgType::boolean, std::string(1, value ? '\1' : '\0'));
  return *this;
}

PgParams& PgParams::int8(std::int64_t value) {
  add(PgType::int8, encode_int8(value));
  return *this;
}

PgParams& PgParams::optional_int8(std::optional<std::int64_t> value) {
  add(PgType::int8, value ? std::optional<std::string>(encode_int8(*value)) : std::nullopt);
  return *this;
}

PgParams& PgParams::bytes_array(std::vector<std::string_view> const& values) {
  add(PgType::bytea_array, encode_array(PgType::bytea, values, [](std::string_view v) {
        return std::optional<std::string>(std::string(v));
      }));
  return *this;
}

PgParams& PgParams::int4_array(std::vector<std::int32_t> const& values) {
  add(PgType::int4_array, encode_array(PgType::int4, values, [](std::int32_t v) {
        std::string out;
        put_int32(out, v);
        return std::optional<std::string>(std::move(out));
      }));
  return *this;
}

PgParams& PgParams::int8_array(std::vector<std::optional<std::int64_t>> const& values) {
  add(PgType::int8_array, encode_array(PgType::int8, values, [](std::optional<std::int64_t> v) {
        return v ? std::optional<std::string>(encode_int8(*v)) : std::nullopt;
      }));
  return *this;
}

std::vector<char const*> PgParams::values() const {
  std::vector<char const*> out;
  out.reserve(encoded_.size());
  for (auto const& e : encoded_) out.push_back(e ? e->data() : nullptr);
  return out;
}

std::vector<int> PgParams::lengths() const {
  std::vector<int> out;
  out.reserve(encoded_.size());
  for (auto const& e : encoded_) out.push_back(e ? static_cast<int>(e->size()) : 0);
  return out;
}

std::optional<std::string> const* PgRows::first() const {
  if (rows.empty() || rows.front().empty()) return nullptr;
  return &rows.front().front();
}

core::Result<std::int64_t> decode_int8(std::optional<std::string> const& value) {
  if (!value || value->size() != 8) {
    return core::make_error(core::Errc::internal, "postgres: expected an int8 result");
  }
  std::uint64_t n = 0;
  for (char c : *value) n = (n << 8) | static_cast<unsigned char>(c);
  return static_cast<std::int64_t>(n);
}

core::Result<bool> decode_bool(std::optional<std::string> const& value) {
  if (!value || value->size() != 1) {
    return core::make_error(core::Errc::internal, "postgres: expected a boolean result");
  }
  return (*value)[0] != 0;
}

core::Result<std::optional<std::string>> single_value(core::Result<PgRows> const& rows) {
  if (!rows) return rows.error();
  auto const* value = rows->first();
  if (!value) return core::make_error(core::Errc::internal, "postgres: the statement returned no row");
  return *value;
}

core::Result<bool> single_bool(core::Result<PgRows> const& rows) {
  auto value = single_value(rows);
  if (!value) return value.error();
  return decode_bool(*value);
}

}  // namespace outboard::state
