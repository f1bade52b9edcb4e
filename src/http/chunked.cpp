// ChunkedValidator (declared in strict.hpp): RFC 9112 section 7.1 framing of a chunked body.
#include <algorithm>
#include <array>

#include "http/strict.hpp"
#include "http/syntax.hpp"

namespace outboard::http {

namespace {

using namespace syntax;

Rejection bad(std::string_view rule, std::string detail) {
  return Rejection{Status::bad_request, std::string(rule), std::move(detail)};
}

// Fields a trailer must not carry: they frame, route or authorize the message, and Beast
// merges trailer fields into the header a handler reads (RFC 9110 section 6.5.1).
constexpr std::array<std::string_view, 14> kForbiddenTrailers{
    "content-length", "transfer-encoding", "host",          "connection",   "keep-alive",
    "te",             "trailer",           "upgrade",       "expect",       "authorization",
    "cookie",         "content-type",      "content-encoding", "content-range"};

// chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ), from `pos`.
std::optional<Rejection> check_extensions(std::string_view line, std::size_t pos) {
  auto skip_ws = [&] {
    while (pos < line.size() && is_ows(line[pos])) ++pos;
  };
  auto token_end = [&](std::size_t from) {
    while (from < line.size() && is_tchar(line[from])) ++from;
    return from;
  };
  while (pos < line.size()) {
    skip_ws();
    if (pos == line.size() || line[pos] != ';') return bad("chunk-ext", "a chunk-size followed by something other than ';'");
    ++pos;
    skip_ws();
    auto name_end = token_end(pos);
    if (name_end == pos) return bad("chunk-ext", "a chunk extension without a name");
    pos = name_end;
    skip_ws();
    // Whitespace after a name must lead to '=' or another ';': trailing BWS is not in the
    // grammar (found by http_chunked_fuzz: Beast refused "5 ;a \r\n", which we had accepted).
    if (pos == line.size() && pos != name_end) return bad("chunk-ext", "whitespace after a chunk extension's name");
    if (pos == line.size() || line[pos] != '=') continue;
    ++pos;
    skip_ws();
    if (pos < line.size() && line[pos] == '"') {
      ++pos;
      bool closed = false;
      while (pos < line.size() && !closed) {
        char c = line[pos];
        if (c == '"') {
          closed = true;
        } else if (c == '\\') {
          if (pos + 1 >= line.size() || !is_quoted_pair_char(line[pos + 1])) break;
          ++pos;
        } else if (!is_qdtext(c)) {
          break;
        }
        ++pos;
      }
      if (!closed) return bad("chunk-ext", "a chunk extension with an unbalanced or malformed quoted string");
    } else {
      auto value_end = token_end(pos);
      if (value_end == pos) return bad("chunk-ext", "a chunk extension with '=' and no value");
      pos = value_end;
    }
  }
  return std::nullopt;
}

}  // namespace

ChunkedValidator::Step ChunkedValidator::fail(std::size_t used, Rejection rejection) {
  state_ = State::failed;
  failure_ = rejection;
  return Step{used, std::move(rejection)};
}

std::optional<Rejection> ChunkedValidator::end_of_size_line() {
  std::string_view line = line_;
  std::size_t digits = 0;
  while (digits < line.size() && is_hex(line[digits])) ++digits;
  if (digits == 0) return bad("chunk-size", "a chunk-size that is not hexadecimal");
  auto hex = line.substr(0, digits);
  auto significant = hex.substr(std::min(hex.find_first_not_of('0'), hex.size()));
  if (significant.size() > 15) return bad("chunk-size-overflow", "a chunk-size too large to represent");
  if (auto r = check_extensions(line, digits)) return r;
  remaining_ = 0;
  for (char c : significant) {
    remaining_ = remaining_ * 16 + static_cast<std::uint64_t>(is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
  }
  state_ = remaining_ == 0 ? State::trailer_line : State::data;
  return std::nullopt;
}

std::optional<Rejection> ChunkedValidator::end_of_trailer_line() {
  if (line_.empty()) {
    state_ = State::done;
    return std::nullopt;
  }
  if (++trailer_fields_ > limits_.max_trailer_fields) {
    return Rejection{Status::request_header_fields_too_large, "trailer-too-large", "too many trailer fields"};
  }
  if (auto r = check_field_line(line_)) return r;
  auto name = std::string_view(line_).substr(0, line_.find(':'));
  if (std::any_of(kForbiddenTrailers.begin(), kForbiddenTrailers.end(),
                  [&](std::string_view f) { return iequals(f, name); })) {
    return bad("trailer-forbidden", "a trailer field that must come in the header (" + lower(name) + ")");
  }
  return std::nullopt;
}

ChunkedValidator::Step ChunkedValidator::feed(std::string_view bytes, std::string* data) {
  if (state_ == State::failed) return Step{0, failure_};
  std::size_t i = 0;
  while (i < bytes.size() && state_ != State::done) {
    switch (state_) {
      case State::data: {
        auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, bytes.size() - i));
        if (data) data->append(bytes.substr(i, n));
        remaining_ -= n;
        i += n;
        if (remaining_ == 0) state_ = State::data_cr;
        break;
      }
      case State::data_cr:
      case State::data_lf: {
        char expected = state_ == State::data_cr ? '\r' : '\n';
        if (bytes[i] != expected) return fail(i, bad("chunk-data-crlf", "chunk data not followed by CRLF"));
        ++i;
        state_ = state_ == State::data_cr ? State::data_lf : State::size_line;
        break;
      }
      default: {  // size_line, trailer_line: collect up to LF
        char c = bytes[i++];
        bool trailer = state_ == State::trailer_line;
        if (c == '\n') {
          if (line_.empty() || line_.back() != '\r') return fail(i, bad("bare-lf", "a chunk line ending with LF alone"));
          line_.pop_back();
          auto r = trailer ? end_of_trailer_line() : end_of_size_line();
          line_.clear();
          if (r) return fail(i, std::move(*r));
          break;
        }
        if (!line_.empty() && line_.back() == '\r') return fail(i, bad("bare-cr", "a CR not followed by LF in a chunk line"));
        line_.push_back(c);
        if (trailer && ++trailer_bytes_ > limits_.max_trailer_bytes) {
          return fail(i, Rejection{Status::request_header_fields_too_large, "trailer-too-large",
                                   "the trailer section is over " + std::to_string(limits_.max_trailer_bytes) + " bytes"});
        }
        if (!trailer && line_.size() > limits_.max_line_bytes) {
          return fail(i, bad("chunk-line-too-long", "a chunk-size line over " + std::to_string(limits_.max_line_bytes) + " bytes"));
        }
        break;
      }
    }
  }
  return Step{i, std::nullopt};
}

}  // namespace outboard::http
