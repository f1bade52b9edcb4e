// The etcd JSON gateway's bytes, read strictly, and the registry entries they carry.
#include <gtest/gtest.h>

#include "registry/etcd_client.hpp"
#include "registry/etcd_wire.hpp"
#include "registry/member.hpp"

namespace outboard::registry {
namespace {

constexpr std::string_view kPrefix = "/outboard/members/";

TEST(EtcdWire, Base64RoundTripsAndRefusesGarbage) {
  EXPECT_EQ(etcd::base64_encode("/ob/m/a"), "L29iL20vYQ==");
  EXPECT_EQ(etcd::base64_decode("L29iL20vYQ==").value(), "/ob/m/a");
  EXPECT_EQ(etcd::base64_decode("").value(), "");
  EXPECT_FALSE(etcd::base64_decode("L29iL20vYQ=").has_value());
  EXPECT_FALSE(etcd::base64_decode("L29i*20vYQ==").has_value());
  EXPECT_FALSE(etcd::base64_decode("L29iL\xd0" "0vYQ==").has_value());  // a byte over 0x7f (registry_fuzz)
}

TEST(EtcdWire, PrefixEndIsThePrefixWithItsLastByteRaised) {
  EXPECT_EQ(etcd::prefix_end("/ob/m/"), "/ob/m0");
  EXPECT_EQ(etcd::prefix_end(std::string("a\xff", 2)), "b");
}

TEST(EtcdWire, ReadsAWatchLineOfAPutAndADelete) {
  auto message = etcd::parse_watch_line(
      R"({"result":{"header":{"revision":"5"},"events":[{"kv":{"key":"L29iL20vYQ==","mod_revision":"4","value":"aGVsbG8="}},)"
      R"({"type":"DELETE","kv":{"key":"L29iL20vYQ==","mod_revision":"5"}}]}})");
  ASSERT_TRUE(message.has_value()) << message.error().describe();
  EXPECT_EQ(message->revision, 5);
  ASSERT_EQ(message->events.size(), 2u);
  EXPECT_FALSE(message->events[0].deleted);
  EXPECT_EQ(message->events[0].kv.value, "hello");
  EXPECT_TRUE(message->events[1].deleted);
  EXPECT_EQ(message->events[1].kv.key, "/ob/m/a");
}

TEST(EtcdWire, RefusesWhatIsNotAnAnswer) {
  EXPECT_FALSE(etcd::parse_watch_line("not json").has_value());
  EXPECT_FALSE(etcd::parse_watch_line(R"({"result":{"events":[]}})").has_value());  // no header
  EXPECT_FALSE(etcd::parse_watch_line(R"({"result":{"header":{"revision":"x"}}})").has_value());
  EXPECT_FALSE(etcd::parse_watch_line(
                   R"({"result":{"header":{"revision":"1"},"events":[{"type":"BOOM","kv":{"key":"YQ=="}}]}})")
                   .has_value());
  auto error = etcd::parse_range(R"({"error":"etcdserver: too many requests","code":14})");
  ASSERT_FALSE(error.has_value());
  EXPECT_EQ(error.error().code, core::Errc::unavailable);
  EXPECT_NE(error.error().context.find("too many requests"), std::string::npos);
}

TEST(EtcdWire, AKeepAliveWithoutTtlMeansTheLeaseIsGone) {
  auto gone = etcd::parse_keepalive(R"({"result":{"header":{"revision":"3"},"ID":"12345"}})");
  ASSERT_TRUE(gone.has_value());
  EXPECT_EQ(*gone, 0);
  auto alive = etcd::parse_keepalive(R"({"result":{"header":{"revision":"3"},"ID":"12345","TTL":"7"}})");
  ASSERT_TRUE(alive.has_value());
  EXPECT_EQ(*alive, 7);
}

TEST(EtcdUrl, ListsEveryEndpointAndRefusesAnythingElse) {
  std::string error;
  auto endpoints = parse_etcd_url("etcd://127.0.0.1:2379,localhost:2380", error);
  ASSERT_TRUE(endpoints.has_value()) << error;
  ASSERT_EQ(endpoints->size(), 2u);
  EXPECT_EQ((*endpoints)[1].host, "localhost");
  EXPECT_EQ((*endpoints)[1].port, 2380);
  EXPECT_FALSE(parse_etcd_url("http://127.0.0.1:2379", error).has_value());
  EXPECT_FALSE(parse_etcd_url("etcd://127.0.0.1", error).has_value());
  EXPECT_FALSE(parse_etcd_url("etcd://127.0.0.1:2379,", error).has_value());
  EXPECT_NE(error.find("host:port"), std::string::npos);
}

TEST(Member, RoundTripsThroughItsJson) {
  Member m{"127.0.0.1", 8081, MemberState::draining, 3, 1'700'000'000'123};
  auto back = parse_member(std::string(kPrefix) + "127.0.0.1:8081", kPrefix, to_json(m));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->address(), "127.0.0.1:8081");
  EXPECT_EQ(back->state, MemberState::draining);
  EXPECT_EQ(back->weight, 3u);
  EXPECT_EQ(back->changed_at_ms, 1'700'000'000'123);
}

TEST(Member, RefusesAnEntryThatIsOffInAnyWay) {
  std::string key = std::string(kPrefix) + "127.0.0.1:8081";
  auto parse = [&](std::string_view k, std::string_view value) { return parse_member(k, kPrefix, value).has_value(); };
  EXPECT_TRUE(parse(key, R"({"address":"127.0.0.1:8081","state":"up"})"));
  // Another server's name under this key, or a key outside the prefix.
  EXPECT_FALSE(parse(key, R"({"address":"127.0.0.1:9999","state":"up"})"));
  EXPECT_FALSE(parse("/elsewhere/127.0.0.1:8081", R"({"address":"127.0.0.1:8081","state":"up"})"));
  EXPECT_FALSE(parse(key, R"({"address":"127.0.0.1:8081","state":"sleeping"})"));
  EXPECT_FALSE(parse(key, R"({"address":"127.0.0.1:8081","state":"up","weight":0})"));
  EXPECT_FALSE(parse(key, R"({"address":"127.0.0.1:8081","state":"up","weight":100000})"));
  EXPECT_FALSE(parse(key, R"({"address":"127.0.0.1:8081","state":"up","weight":"1"})"));
  EXPECT_FALSE(parse(key, R"(["127.0.0.1:8081"])"));
  EXPECT_FALSE(parse(key, "{"));
  EXPECT_FALSE(parse(std::string(kPrefix) + "a b:1", R"({"address":"a b:1","state":"up"})"));
  EXPECT_FALSE(parse(std::string(kPrefix) + "a:0", R"({"address":"a:0","state":"up"})"));
  std::string huge = R"({"address":"127.0.0.1:8081","state":"up","pad":")" + std::string(kMaxEntryBytes, 'x') + "\"}";
  EXPECT_FALSE(parse(key, huge));
}

}  // namespace
}  // namespace outboard::registry
