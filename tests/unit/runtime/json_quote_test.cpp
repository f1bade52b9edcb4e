#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runtime/json_body.hpp"

namespace outboard::runtime {
namespace {

std::string nlohmann_quote(std::string_view text) {
  return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// json_quote's fast path (ASCII, control characters escaped) must write what nlohmann writes, byte for byte: the
// idempotency records and the hot routes' bodies are read back by nlohmann and compared as text.
TEST(JsonQuote, WritesWhatNlohmannWrites) {
  for (std::string_view text : {std::string_view(""), std::string_view("ada"), std::string_view(R"(say "hi")"),
                                std::string_view(R"(C:\path\)"), std::string_view(R"({"line":{"qty":1,"sku":"a/b"}})"),
                                std::string_view("tab\there"), std::string_view("line\nbreak"),
                                std::string_view("nul\0byte", 8), std::string_view("del\x7f"),
                                std::string_view("\x01\x1f\b\f\r"), std::string_view("{\"a\":1}\n"),
                                std::string_view("caf\xc3\xa9"), std::string_view("\xff\xfe not utf-8"),
                                std::string_view("runs \"between\" escapes\\ and\x01 caf\xc3\xa9 bytes\xff end"),
                                // Ill-formed UTF-8: one U+FFFD per unit nlohmann's decoder rejects, not per byte.
                                std::string_view("\xe2\x82" "A"), std::string_view("\xe0\x80x"), std::string_view("a\xc3"),
                                std::string_view("\xf0\x9f\x98"), std::string_view("\xf0\x9f\x98\x80 ok"),
                                std::string_view("\xed\xa0\x80"), std::string_view("\xf4\x90\x80\x80"),
                                std::string_view("\xf0\x9f\xc3\xa9"), std::string_view("\x82\x82\xc0\xaf")}) {
    SCOPED_TRACE(std::string(text));
    EXPECT_EQ(json_quote(text), nlohmann_quote(text));
  }
}

TEST(JsonQuote, ReadsBackAsTheSameText) {
  std::string text = R"({"body":"with \"quotes\" and \\ backslashes"})";
  EXPECT_EQ(nlohmann::json::parse(json_quote(text)).get<std::string>(), text);
}

}  // namespace
}  // namespace outboard::runtime
