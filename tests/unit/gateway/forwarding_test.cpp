// The proxy's HTTP rules as pure functions: framing checks (request smuggling), hop-by-hop
// headers, forwarding headers, retry safety.
#include <gtest/gtest.h>

#include "gateway/forwarding.hpp"

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
  prepare_upstream_request(h, ForwardInfo{"127.0.0.1", "rid-1", false});
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

}  // namespace
}  // namespace outboard::gateway
