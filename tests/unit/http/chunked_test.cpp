// ChunkedValidator (http/strict.hpp): each chunk rule with a refused vector and an accepted twin,
// fed whole and byte by byte (the framing must not depend on how the bytes were split).
#include <gtest/gtest.h>

#include <string>

#include "http/strict.hpp"

namespace outboard::http {
namespace {

struct Outcome {
  bool done = false;
  std::size_t used = 0;
  std::optional<Rejection> rejection;
  std::string data;
};

Outcome run(std::string_view body, bool byte_by_byte, ChunkLimits limits = {}) {
  ChunkedValidator v(limits);
  Outcome out;
  if (!byte_by_byte) {
    auto step = v.feed(body, &out.data);
    out.used = step.used;
    out.rejection = step.rejection;
  } else {
    for (std::size_t i = 0; i < body.size() && !v.done(); ++i) {
      auto step = v.feed(body.substr(i, 1), &out.data);
      out.used += step.used;
      if (step.rejection) {
        out.rejection = step.rejection;
        break;
      }
    }
  }
  out.done = v.done();
  return out;
}

struct ChunkVector {
  std::string name;
  std::string bad;
  int status;
  std::string rule;
  std::string twin;
};

void PrintTo(ChunkVector const& v, std::ostream* os) { *os << v.name; }

std::vector<ChunkVector> chunk_vectors() {
  std::string ok = "5\r\nhello\r\n0\r\n\r\n";
  return {
      {"chunk_size", "zz\r\nhello\r\n0\r\n\r\n", 400, "chunk-size", ok},
      {"chunk_size_empty", "\r\nhello\r\n0\r\n\r\n", 400, "chunk-size", ok},
      {"chunk_size_overflow", "1000000000000000\r\n", 400, "chunk-size-overflow",
       "00000000000000000005\r\nhello\r\n0\r\n\r\n"},
      {"chunk_ext_unbalanced_quote", "5;a=\"b\r\nhello\r\n0\r\n\r\n", 400, "chunk-ext",
       "5;a=\"b\"\r\nhello\r\n0\r\n\r\n"},
      {"chunk_ext_escaped_quote", "5;a=\"b\\\"\r\nhello\r\n0\r\n\r\n", 400, "chunk-ext",
       "5;a=\"b\\\"\"\r\nhello\r\n0\r\n\r\n"},
      {"chunk_ext_no_name", "5;\r\nhello\r\n0\r\n\r\n", 400, "chunk-ext", "5;n\r\nhello\r\n0\r\n\r\n"},
      {"chunk_ext_no_value", "5;a=\r\nhello\r\n0\r\n\r\n", 400, "chunk-ext", "5 ; a = v\r\nhello\r\n0\r\n\r\n"},
      {"chunk_ext_trailing_space", "5 \r\nhello\r\n0\r\n\r\n", 400, "chunk-ext", ok},
      // Found by http_chunked_fuzz: whitespace after a name that no '=' or ';' follows.
      {"chunk_ext_name_trailing_space", "5   ;a \r\nhello\r\n0\r\n\r\n", 400, "chunk-ext",
       "5   ;a ;b\r\nhello\r\n0\r\n\r\n"},
      {"chunk_line_too_long", "5;a=" + std::string(5000, 'x'), 400, "chunk-line-too-long",
       "5;a=" + std::string(4000, 'x') + "\r\nhello\r\n0\r\n\r\n"},
      {"chunk_data_crlf", "5\r\nhelloX\r\n0\r\n\r\n", 400, "chunk-data-crlf", ok},
      {"chunk_data_crlf_short", "6\r\nhello\r\n0\r\n\r\n", 400, "chunk-data-crlf", "7\r\nhello\r\n\r\n0\r\n\r\n"},
      {"bare_lf", "5\nhello\r\n0\r\n\r\n", 400, "bare-lf", ok},
      {"bare_lf_last", "5\r\nhello\r\n0\r\n\n", 400, "bare-lf", ok},
      {"bare_cr", "5\rhello\r\n0\r\n\r\n", 400, "bare-cr", ok},
      {"trailer_forbidden", "0\r\nContent-Length: 5\r\n\r\n", 400, "trailer-forbidden", "0\r\nX-Sum: 5\r\n\r\n"},
      {"trailer_forbidden_host", "0\r\nhost: a\r\n\r\n", 400, "trailer-forbidden", "0\r\nX-Host: a\r\n\r\n"},
      {"trailer_obs_fold", "0\r\nX: a\r\n b\r\n\r\n", 400, "obs-fold", "0\r\nX: a\r\nY: b\r\n\r\n"},
      {"trailer_field_name_whitespace", "0\r\nX : a\r\n\r\n", 400, "field-name-whitespace", "0\r\nX: a\r\n\r\n"},
      {"trailer_field_value_char", "0\r\nX: a\x01\r\n\r\n", 400, "field-value-char", "0\r\nX: a\r\n\r\n"},
      {"trailer_too_large", "0\r\nX: " + std::string(9000, 'v') + "\r\n\r\n", 431, "trailer-too-large",
       "0\r\nX: " + std::string(8000, 'v') + "\r\n\r\n"},
  };
}

class ChunkRule : public ::testing::TestWithParam<ChunkVector> {};

TEST_P(ChunkRule, RefusedAndTwinAccepted) {
  auto const& v = GetParam();
  for (bool bytewise : {false, true}) {
    SCOPED_TRACE(bytewise ? "byte by byte" : "whole");
    auto bad = run(v.bad, bytewise);
    ASSERT_TRUE(bad.rejection.has_value()) << "accepted";
    EXPECT_EQ(bad.rejection->rule, v.rule) << bad.rejection->detail;
    EXPECT_EQ(static_cast<int>(bad.rejection->status), v.status);
    auto twin = run(v.twin, bytewise);
    EXPECT_FALSE(twin.rejection.has_value()) << twin.rejection->rule << ": " << twin.rejection->detail;
    EXPECT_TRUE(twin.done);
    EXPECT_EQ(twin.used, v.twin.size());
  }
}

std::string chunk_vector_name(::testing::TestParamInfo<ChunkVector> const& param) { return param.param.name; }

INSTANTIATE_TEST_SUITE_P(Strict, ChunkRule, ::testing::ValuesIn(chunk_vectors()), chunk_vector_name);

TEST(Chunked, DecodesTheDataAndStopsAtTheEnd) {
  std::string body = "5;ext=\"a b\"\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 1\r\n\r\nGET / HTTP/1.1\r\n";
  auto out = run(body, false);
  ASSERT_FALSE(out.rejection) << out.rejection->rule;
  EXPECT_TRUE(out.done);
  EXPECT_EQ(out.data, "hello world");
  EXPECT_EQ(body.substr(out.used), "GET / HTTP/1.1\r\n");  // the pipelined request is left alone
}

TEST(Chunked, AnUnbalancedQuoteIsRefusedAtTheLineEndNotAwaited) {
  // Only the line, nothing after it: the validator must not wait for a closing quote.
  auto out = run("5;a=\"b\r\n", false);
  ASSERT_TRUE(out.rejection);
  EXPECT_EQ(out.rejection->rule, "chunk-ext");
}

TEST(Chunked, ANeverEndingSizeLineIsRefusedAtTheLimit) {
  auto out = run(std::string(100, '0'), false, ChunkLimits{.max_line_bytes = 64});
  ASSERT_TRUE(out.rejection);
  EXPECT_EQ(out.rejection->rule, "chunk-line-too-long");
}

TEST(Chunked, IncompleteInputIsNeitherDoneNorRefused) {
  auto out = run("5\r\nhel", false);
  EXPECT_FALSE(out.rejection);
  EXPECT_FALSE(out.done);
  EXPECT_EQ(out.used, 6u);
}

TEST(Chunked, TooManyTrailerFieldsAreRefused) {
  std::string body = "0\r\n";
  for (int i = 0; i < 33; ++i) body += "X-" + std::to_string(i) + ": v\r\n";
  auto out = run(body + "\r\n", false);
  ASSERT_TRUE(out.rejection);
  EXPECT_EQ(out.rejection->rule, "trailer-too-large");
}

TEST(Chunked, ARefusalSticks) {
  ChunkedValidator v;
  ASSERT_TRUE(v.feed("zz\r\n").rejection);
  auto again = v.feed("5\r\nhello\r\n0\r\n\r\n");
  ASSERT_TRUE(again.rejection);
  EXPECT_EQ(again.used, 0u);
}

}  // namespace
}  // namespace outboard::http
