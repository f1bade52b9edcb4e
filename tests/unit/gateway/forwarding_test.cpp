// The proxy's HTTP rules as pure functions: framing checks (request smuggling), hop-by-hop
// headers, forwarding headers, retry safety.
#include <gtest/gtest.h>

#include "gateway/forwarding.hpp"
#include "gateway/trusted_proxies.hpp"

namespace outboard::gateway {
namespace {

using http::bhttp::field;
using http::bhttp::verb;

RequestHeader request(verb method = verb::get) {
  RequestHeader h;
  h.method(method);
  h.target("/x");
  h.version(11);
  return h;
}

TEST(Framing, PlainRequestsPass) {
  auto h = request(verb::post);
  h.set(field::content_length, "10");
  EXPECT_EQ(check_request_framing(h), std::nullopt);
  auto c = request(verb::post);
  c.set(field::transfer_encoding, "chunked");
  EXPECT_EQ(check_request_framing(c), std::nullopt);
}

TEST(Framing, ContentLengthWithTransferEncodingIsRejected) {
  auto h = request(verb::post);
  h.set(field::content_length, "10");
  h.set(field::transfer_encoding, "chunked");
  EXPECT_NE(check_request_framing(h), std::nullopt);
}

TEST(Framing, DifferingContentLengthsAreRejected) {
  auto h = request(verb::post);
  h.insert(field::content_length, "10");
  h.insert(field::content_length, "11");
  EXPECT_NE(check_request_framing(h), std::nullopt);
  auto same = request(verb::post);
  same.insert(field::content_length, "10");
  same.insert(field::content_length, "10");
  EXPECT_EQ(check_request_framing(same), std::nullopt);
  auto listed = request(verb::post);
  listed.set(field::content_length, "10, 12");
  EXPECT_NE(check_request_framing(listed), std::nullopt);
}

TEST(Framing, MalformedContentLengthIsRejected) {
  for (char const* v : {"-1", "1e3", "0x10", "", " 5a"}) {
    auto h = request(verb::post);
    h.set(field::content_length, v);
    EXPECT_NE(check_request_framing(h), std::nullopt) << v;
  }
}

TEST(Framing, OnlyASingleFinalChunkedIsAccepted) {
  for (char const* v : {"gzip, chunked", "chunked, identity", "identity", "chunked, chunked", "gzip"}) {
    auto h = request(verb::post);
    h.set(field::transfer_encoding, v);
    EXPECT_NE(check_request_framing(h), std::nullopt) << v;
  }
  auto two = request(verb::post);
  two.insert(field::transfer_encoding, "chunked");
  two.insert(field::transfer_encoding, "chunked");
  EXPECT_NE(check_request_framing(two), std::nullopt);
}

TEST(Framing, BadHeaderNamesAndValuesAreRejected) {
  auto name = request();
  name.insert("Bad Name", "x");
  EXPECT_NE(check_request_framing(name), std::nullopt);
  auto cr = request();
  cr.insert("X-A", std::string("a\rb"));
  EXPECT_NE(check_request_framing(cr), std::nullopt);
  auto nul = request();
  nul.insert("X-A", std::string("a\0b", 3));
  EXPECT_NE(check_request_framing(nul), std::nullopt);
}

TEST(Forwarding, HopByHopHeadersAreDroppedAndForwardingHeadersSet) {
  auto h = request();
  h.set(field::connection, "keep-alive, X-Secret");
  h.set("X-Secret", "1");
  h.set("Keep-Alive", "timeout=5");
  h.set(field::te, "trailers");
  h.set(field::upgrade, "h2c");
  h.set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  h.set("X-Forwarded-For", "10.0.0.1");
  prepare_upstream_request(h, ForwardInfo{"127.0.0.1", "rid-1", false, true});
  EXPECT_EQ(h[field::connection], "");
  EXPECT_EQ(h["X-Secret"], "");
  EXPECT_EQ(h["Keep-Alive"], "");
  EXPECT_EQ(h[field::te], "");
  EXPECT_EQ(h[field::upgrade], "");
  EXPECT_EQ(h["traceparent"], "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  EXPECT_EQ(h["X-Forwarded-For"], "10.0.0.1, 127.0.0.1");
  EXPECT_EQ(h["X-Forwarded-Proto"], "http");
  EXPECT_EQ(h["X-Request-Id"], "rid-1");
}

TEST(Forwarding, ClientRequestIdIsKept) {
  auto h = request();
  h.set("X-Request-Id", "mine");
  prepare_upstream_request(h, ForwardInfo{"127.0.0.1", "generated", false});
  EXPECT_EQ(h["X-Request-Id"], "mine");
}

TEST(Forwarding, WebSocketHandshakeKeepsUpgrade) {
  auto h = request();
  h.set(field::connection, "Upgrade");
  h.set(field::upgrade, "websocket");
  EXPECT_TRUE(is_websocket_upgrade(h));
  prepare_upstream_request(h, ForwardInfo{"127.0.0.1", "r", true});
  EXPECT_EQ(h[field::upgrade], "websocket");
  auto post = request(verb::post);
  post.set(field::connection, "Upgrade");
  post.set(field::upgrade, "websocket");
  EXPECT_FALSE(is_websocket_upgrade(post));
}

TEST(Forwarding, RetrySafety) {
  for (auto m : {verb::get, verb::head, verb::options, verb::put, verb::delete_}) EXPECT_TRUE(retry_safe(request(m)));
  EXPECT_FALSE(retry_safe(request(verb::post)));
  EXPECT_FALSE(retry_safe(request(verb::patch)));
  auto keyed = request(verb::post);
  keyed.set("Idempotency-Key", "k");
  EXPECT_TRUE(retry_safe(keyed));
}

// From an untrusted peer every forwarding claim is replaced: the chain starts at the peer.
TEST(Forwarding, AnUntrustedPeersForwardingHeadersAreReplaced) {
  auto h = request();
  h.insert("X-Forwarded-For", "10.0.0.1");
  h.insert("X-Forwarded-For", "10.0.0.2");
  h.set(field::forwarded, "for=10.0.0.1;proto=https");
  h.set("X-Forwarded-Proto", "https");
  h.set("X-Forwarded-Host", "internal.example");
  prepare_upstream_request(h, ForwardInfo{"192.0.2.7", "r", false, false});
  EXPECT_EQ(h["X-Forwarded-For"], "192.0.2.7");
  EXPECT_EQ(std::distance(h.equal_range("X-Forwarded-For").first, h.equal_range("X-Forwarded-For").second), 1);
  EXPECT_EQ(h[field::forwarded], "for=192.0.2.7;proto=http");
  EXPECT_EQ(h["X-Forwarded-Proto"], "http");
  EXPECT_EQ(h["X-Forwarded-Host"], "");
}

// From a trusted proxy, every line of its chain is kept, in order, and the peer appended.
TEST(Forwarding, ATrustedPeersChainIsAppendedTo) {
  auto h = request();
  h.insert("X-Forwarded-For", "10.0.0.1");
  h.insert("X-Forwarded-For", "10.0.0.2");
  h.set(field::forwarded, "for=10.0.0.1");
  h.set("X-Forwarded-Proto", "https");
  h.set("X-Forwarded-Host", "shop.example");
  prepare_upstream_request(h, ForwardInfo{"2001:db8::5", "r", false, true});
  EXPECT_EQ(h["X-Forwarded-For"], "10.0.0.1, 10.0.0.2, 2001:db8::5");
  EXPECT_EQ(h[field::forwarded], "for=10.0.0.1, for=\"[2001:db8::5]\";proto=http");
  EXPECT_EQ(h["X-Forwarded-Proto"], "https");
  EXPECT_EQ(h["X-Forwarded-Host"], "shop.example");
}

TEST(TrustedProxies, EmptyTrustsNobody) {
  TrustedProxies none;
  EXPECT_FALSE(none.contains("127.0.0.1"));
  EXPECT_FALSE(none.contains("::1"));
}

TEST(TrustedProxies, MatchesCidrsOfBothFamilies) {
  TrustedProxies t;
  ASSERT_EQ(t.add("10.0.0.0/8"), std::nullopt);
  ASSERT_EQ(t.add("192.168.1.0/25"), std::nullopt);
  ASSERT_EQ(t.add("2001:db8::/32"), std::nullopt);
  ASSERT_EQ(t.add("198.51.100.7"), std::nullopt);  // one host
  EXPECT_TRUE(t.contains("10.255.1.2"));
  EXPECT_FALSE(t.contains("11.0.0.1"));
  EXPECT_TRUE(t.contains("192.168.1.127"));
  EXPECT_FALSE(t.contains("192.168.1.128"));
  EXPECT_TRUE(t.contains("2001:db8:ffff::1"));
  EXPECT_FALSE(t.contains("2001:db9::1"));
  EXPECT_TRUE(t.contains("198.51.100.7"));
  EXPECT_FALSE(t.contains("198.51.100.8"));
  EXPECT_TRUE(t.contains("::ffff:10.1.2.3")) << "an IPv4-mapped peer must match its IPv4 range";
  EXPECT_FALSE(t.contains("not-an-address"));
  EXPECT_FALSE(t.contains(""));
}

TEST(TrustedProxies, ZeroPrefixTrustsEveryoneOfItsFamily) {
  TrustedProxies t;
  ASSERT_EQ(t.add("0.0.0.0/0"), std::nullopt);
  EXPECT_TRUE(t.contains("203.0.113.1"));
  EXPECT_FALSE(t.contains("2001:db8::1"));
}

TEST(TrustedProxies, MalformedRangesAreRefusedWithAReason) {
  TrustedProxies t;
  for (std::string bad : {"10.0.0.0/33", "10.0.0.0/", "10.0.0.0/x", "10.0.0/8", "::/129", "host.example", ""}) {
    auto why = t.add(bad);
    ASSERT_NE(why, std::nullopt) << bad;
    EXPECT_NE(why->find(bad), std::string::npos) << *why;
  }
  EXPECT_TRUE(t.empty());
}

}  // namespace
}  // namespace outboard::gateway
