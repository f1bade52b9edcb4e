#include "realtime/protocol.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace outboard::realtime {
namespace {

DecodeLimits const kLimits{.max_text_bytes = 8};

DecodeError decode_error(std::string_view frame) {
  auto decoded = decode_client_message(frame, kLimits);
  auto* error = std::get_if<DecodeError>(&decoded);
  if (error == nullptr) {
    ADD_FAILURE() << "decoded without an error";
    return {};
  }
  return *error;
}

ClientMessage decode_ok(std::string_view frame) {
  auto decoded = decode_client_message(frame, kLimits);
  if (auto* error = std::get_if<DecodeError>(&decoded)) {
    ADD_FAILURE() << error->error << ": " << error->detail;
    return {};
  }
  return std::get<ClientMessage>(decoded);
}

TEST(RealtimeDecode, EachTypeWithItsFields) {
  auto join = std::get<JoinRequest>(decode_ok(R"({"type":"join","room":"lobby"})"));
  EXPECT_EQ(join.room, "lobby");
  EXPECT_FALSE(join.since);
  EXPECT_EQ(std::get<JoinRequest>(decode_ok(R"({"type":"join","room":"a","since":0})")).since, 0);
  EXPECT_EQ(std::get<JoinRequest>(decode_ok(R"({"type":"join","room":"a","since":9223372036854775807})")).since,
            INT64_MAX);
  EXPECT_EQ(std::get<LeaveRequest>(decode_ok(R"({"type":"leave","room":"a.b_c-9"})")).room, "a.b_c-9");
  EXPECT_EQ(std::get<PresenceRequest>(decode_ok(R"({"room":"r","type":"presence","extra":{"x":[1]}})")).room, "r");
  auto send = std::get<SendRequest>(decode_ok(R"({"type":"send","room":"r","id":"A:1_.-z","text":"h\u00e9\n"})"));
  EXPECT_EQ(send.room, "r");
  EXPECT_EQ(send.id, "A:1_.-z");
  EXPECT_EQ(send.text, "h\xc3\xa9\n");
  EXPECT_EQ(std::get<SendRequest>(decode_ok(R"({"type":"send","room":"r","id":"1","text":"12345678"})")).text.size(),
            8u);
}

struct Refusal {
  std::string_view frame;
  std::string_view error;
  bool fatal;
  std::string_view room = {};
  std::string_view id = {};
};

TEST(RealtimeDecode, RefusalsByClass) {
  std::string deep = std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
  std::string too_deep = R"({"type":"join","room":"a","x":)" + deep + "}";
  std::string just_deep_enough = R"({"type":"join","room":"a","x":)" + deep.substr(1, deep.size() - 2) + "}";
  std::string brackets_in_a_string = R"({"type":"join","room":"a","x":")" + std::string(100, '[') + R"("})";
  EXPECT_EQ(std::get<JoinRequest>(decode_ok(just_deep_enough)).room, "a");
  EXPECT_EQ(std::get<JoinRequest>(decode_ok(brackets_in_a_string)).room, "a");

  Refusal const cases[] = {
      {"", "bad_message", true},
      {"not json", "bad_message", true},
      {"[1]", "bad_message", true},
      {R"("join")", "bad_message", true},
      {R"({"type":"join","room":"a"} trailing)", "bad_message", true},
      {std::string_view("{\"type\":\"join\",\"room\":\"a\"}\0}", 28), "bad_message", true},  // nlohmann stops at NUL
      {"{\"type\":\"send\",\"room\":\"a\",\"id\":\"1\",\"text\":\"\xff\"}", "bad_message", true},  // not UTF-8
      {R"({"type":"send","room":"a","id":"1","text":"\ud800"})", "bad_message", true},  // a lone surrogate
      {too_deep, "bad_message", true},
      {R"({"room":"a"})", "bad_message", false},
      {R"({"type":1,"room":"a"})", "bad_message", false},
      {R"({"type":"shout","room":"a"})", "unknown_type", false},
      {R"({"type":"JOIN","room":"a"})", "unknown_type", false},
      {R"({"type":"join"})", "bad_message", false},
      {R"({"type":"join","room":""})", "bad_message", false},
      {R"({"type":"join","room":"Lobby"})", "bad_message", false},
      {R"({"type":"join","room":"-a"})", "bad_message", false},
      {R"({"type":"join","room":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"})", "bad_message", false},
      {R"({"type":"join","room":7})", "bad_message", false},
      {R"({"type":"join","room":"a","since":-1})", "bad_message", false, "a"},
      {R"({"type":"join","room":"a","since":1.0})", "bad_message", false, "a"},
      {R"({"type":"join","room":"a","since":1e3})", "bad_message", false, "a"},
      {R"({"type":"join","room":"a","since":9223372036854775808})", "bad_message", false, "a"},
      {R"({"type":"join","room":"a","since":123456789012345678901234567890})", "bad_message", false, "a"},
      {R"({"type":"join","room":"a","since":"5"})", "bad_message", false, "a"},
      {R"({"type":"join","room":"a","since":null})", "bad_message", false, "a"},
      {R"({"type":"send","room":"a","text":"x"})", "bad_message", false, "a"},
      {R"({"type":"send","room":"a","id":"with space","text":"x"})", "bad_message", false, "a"},
      {R"({"type":"send","room":"a","id":"1"})", "bad_message", false, "a", "1"},
      {R"({"type":"send","room":"a","id":"1","text":["x"]})", "bad_message", false, "a", "1"},
      {R"({"type":"send","room":"a","id":"1","text":"123456789"})", "bad_message", false, "a", "1"},
  };
  for (auto const& expected : cases) {
    SCOPED_TRACE(std::string(expected.frame));
    auto error = decode_error(expected.frame);
    EXPECT_EQ(error.error, expected.error);
    EXPECT_EQ(error.fatal, expected.fatal);
    EXPECT_EQ(error.room, expected.room);
    EXPECT_EQ(error.id, expected.id);
    EXPECT_FALSE(error.detail.empty());
  }
}

TEST(RealtimeDecode, DetailsEchoOnlyAFewPrintableBytes) {
  EXPECT_EQ(decode_error(R"({"type":"shout"})").detail, "unknown message type 'shout'");
  EXPECT_EQ(decode_error(R"({"type":"sh\nout"})").detail, "unknown message type");
  EXPECT_EQ(decode_error(R"({"type":")" + std::string(33, 'x') + R"("})").detail, "unknown message type");
}

TEST(RealtimeNames, RoomsIdsAndOwnRooms) {
  EXPECT_TRUE(valid_room_name("0"));
  EXPECT_TRUE(valid_room_name(std::string(64, 'a')));
  EXPECT_FALSE(valid_room_name(std::string(65, 'a')));
  EXPECT_FALSE(valid_room_name(".a"));
  EXPECT_FALSE(valid_room_name("a/b"));
  EXPECT_TRUE(valid_message_id("Z"));
  EXPECT_FALSE(valid_message_id(""));
  EXPECT_FALSE(valid_message_id(std::string(65, 'a')));
  EXPECT_FALSE(valid_message_id("a\"b"));
  EXPECT_TRUE(may_enter("user.ada", "ada"));
  EXPECT_FALSE(may_enter("user.ada", "bob"));
  EXPECT_FALSE(may_enter("user.", "bob"));
  EXPECT_TRUE(may_enter("users", "bob"));
}

nlohmann::json parse(std::string const& text) {
  auto json = nlohmann::json::parse(text, nullptr, false);
  EXPECT_FALSE(json.is_discarded()) << text;
  return json;
}

TEST(RealtimeEncode, EveryServerMessageIsTheJsonTheDocSays) {
  Limits limits{.max_message_bytes = 1, .max_text_bytes = 2, .messages_per_second = 3, .max_rooms = 4};
  EXPECT_EQ(parse(encode_hello("i-1", "ada", limits)),
            nlohmann::json::parse(R"({"type":"hello","instance":"i-1","user":"ada","limits":{"max_message_bytes":1,
                                  "max_text_bytes":2,"messages_per_second":3,"max_rooms":4}})"));
  EXPECT_EQ(parse(encode_joined("r", 7)), nlohmann::json::parse(R"({"type":"joined","room":"r","seq":7})"));
  EXPECT_EQ(parse(encode_left("r")), nlohmann::json::parse(R"({"type":"left","room":"r"})"));
  EXPECT_EQ(parse(encode_sent("r", "m1", 3, false)), nlohmann::json::parse(R"({"type":"sent","room":"r","id":"m1","seq":3})"));
  EXPECT_EQ(parse(encode_sent("r", "m1", 3, true)),
            nlohmann::json::parse(R"({"type":"sent","room":"r","id":"m1","seq":3,"duplicate":true})"));
  EXPECT_EQ(parse(encode_history_truncated("r", 1, 5, 9)),
            nlohmann::json::parse(R"({"type":"history_truncated","room":"r","since":1,"oldest":5,"seq":9})"));
  EXPECT_EQ(parse(encode_presence("r", {"bob", "ada"})),
            nlohmann::json::parse(R"({"type":"presence","room":"r","users":["ada","bob"]})"));
  EXPECT_EQ(parse(encode_presence("r", {})), nlohmann::json::parse(R"({"type":"presence","room":"r","users":[]})"));
  EXPECT_EQ(parse(encode_error("bad_message", "why")),
            nlohmann::json::parse(R"({"type":"error","error":"bad_message","detail":"why"})"));
  EXPECT_EQ(parse(encode_error("not_joined", "why", "r", "m1")),
            nlohmann::json::parse(R"({"type":"error","error":"not_joined","detail":"why","room":"r","id":"m1"})"));
}

// The splice must stay valid JSON for every text a client can send, and for ids and user names that are not
// UTF-8 (they come from elsewhere: written as U+FFFD, never as a broken string).
TEST(RealtimeEncode, ADeliveryOfAStoredMessageParsesWithTheSameFields) {
  std::string_view const texts[] = {"",     "plain", R"(say "hi" \ {"type":"x"})", std::string_view("nul\0\x01\x1f\x7f", 7),
                                    "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", "}", "{\"a\":1}"};
  for (auto text : texts) {
    SCOPED_TRACE(std::string(text));
    auto delivery = encode_delivery("room-1", 42, encode_stored_message("m:1", "ada", 1700000000123, text));
    ASSERT_TRUE(delivery);
    auto json = parse(*delivery);
    EXPECT_EQ(json, (nlohmann::json{{"type", "message"}, {"room", "room-1"}, {"seq", 42}, {"id", "m:1"},
                                    {"from", "ada"}, {"at", 1700000000123}, {"text", std::string(text)}}));
  }
  std::string_view const not_utf8[] = {"\xff", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82", "a\xc3"};
  for (auto bad : not_utf8) {
    auto json = parse(*encode_delivery("r", 1, encode_stored_message(bad, bad, 0, bad)));
    EXPECT_NE(json["text"].get<std::string>().find("\xEF\xBF\xBD"), std::string::npos);
  }
}

TEST(RealtimeEncode, ADeliveryRefusesABodyThatIsNotAnObjectOfOurs) {
  for (std::string_view stored : {"", "{}", "[1]", "\"text\"", "{\"id\":1", "null"}) {
    SCOPED_TRACE(std::string(stored));
    EXPECT_FALSE(encode_delivery("r", 1, stored));
  }
}

}  // namespace
}  // namespace outboard::realtime
