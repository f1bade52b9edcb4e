// fuzz-link: outboard_http
// fuzz-sources: src/gateway/forwarding.cpp
// The gateway's forwarding rewrite (gateway/forwarding.hpp) on any request header Beast
// accepts: check_request_framing, then prepare_upstream_request and the framing the proxy puts
// back (proxy_server.cpp), then what the upstream would parse. The peer is trusted or not
// (forwarding.trusted_proxies) by the low bit of the input's last byte.
// Input: the bytes a client sent (a request header; anything after it is ignored).
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "gateway/forwarding.hpp"

namespace {

namespace bhttp = outboard::http::bhttp;
using Parser = bhttp::request_parser<bhttp::empty_body>;

constexpr std::string_view kClient = "192.0.2.7";
constexpr std::string_view kGeneratedId = "generated-request-id";

// The header only, as the gateway reads it: nullopt unless Beast accepts a whole header.
std::optional<bhttp::request<bhttp::empty_body>> read_header(std::string_view bytes, Parser& parser) {
  parser.header_limit(16 * 1024);
  parser.eager(false);
  boost::system::error_code ec;
  parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
  if (ec || !parser.is_header_done()) return std::nullopt;
  return parser.get();
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Comma-separated tokens of every Connection header, lower-cased.
std::vector<std::string> connection_tokens(bhttp::fields const& fields) {
  std::vector<std::string> out;
  auto range = fields.equal_range(bhttp::field::connection);
  for (auto it = range.first; it != range.second; ++it) {
    std::string_view v = it->value();
    while (!v.empty()) {
      auto comma = v.find(',');
      auto item = v.substr(0, comma);
      item = trim(item);
      if (!item.empty()) out.push_back(lower(item));
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
  }
  return out;
}

std::size_t count(bhttp::fields const& fields, std::string_view name) {
  auto range = fields.equal_range(name);
  return static_cast<std::size_t>(std::distance(range.first, range.second));
}

// Every non-empty line of a header, trimmed, joined with ", " (how a repeated list field reads).
std::string joined(bhttp::fields const& fields, std::string_view name) {
  std::string out;
  auto range = fields.equal_range(name);
  for (auto it = range.first; it != range.second; ++it) {
    std::string_view v = trim(it->value());
    if (v.empty()) continue;
    if (!out.empty()) out += ", ";
    out += v;
  }
  return out;
}

bool named_in(std::vector<std::string> const& tokens, std::string_view name) {
  return std::find(tokens.begin(), tokens.end(), lower(name)) != tokens.end();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  if (size == 0) return 0;
  Parser parser;
  auto request = read_header(std::string_view(reinterpret_cast<char const*>(data), size), parser);
  if (!request) return 0;
  if (outboard::gateway::check_request_framing(request->base())) return 0;  // answered 400
  // Whether the peer is a trusted proxy: the low bit of the last byte (after the header's blank
  // line, or its final '\n': untrusted).
  bool trusted = (data[size - 1] & 1) != 0;

  // What the proxy keeps before the rewrite (proxy_server.cpp), and what the client claimed.
  auto content_length = parser.content_length();
  bool chunked = parser.chunked();
  bool websocket = outboard::gateway::is_websocket_upgrade(request->base());
  auto named = connection_tokens(request->base());
  std::string request_id(request->base()["X-Request-Id"]);
  std::string claimed_for = named_in(named, "x-forwarded-for") ? "" : joined(request->base(), "X-Forwarded-For");
  std::string claimed_forwarded = named_in(named, "forwarded") ? "" : joined(request->base(), "Forwarded");
  std::string claimed_proto(named_in(named, "x-forwarded-proto") ? "" : request->base()["X-Forwarded-Proto"]);
  std::string method_text(request->method_string());
  std::string target(request->target());

  outboard::gateway::ForwardInfo info;
  info.client_address = kClient;
  info.request_id = request_id.empty() ? std::string(kGeneratedId) : "";
  info.websocket = websocket;
  info.peer_trusted = trusted;
  outboard::gateway::prepare_upstream_request(request->base(), info);
  auto const& out = request->base();

  // No hop-by-hop header survives, nor one the client's Connection header named (a WebSocket
  // handshake keeps Upgrade and Connection). The forwarding headers are set after the drop.
  std::vector<std::string> hop = {"connection", "keep-alive", "proxy-connection", "te", "trailer",
                                  "upgrade",    "transfer-encoding", "proxy-authorization"};
  hop.insert(hop.end(), named.begin(), named.end());
  for (auto const& name : hop) {
    if (websocket && (name == "upgrade" || name == "connection")) continue;
    if (name == "x-forwarded-for" || name == "forwarded" || name == "x-forwarded-proto" || name == "x-request-id") {
      continue;
    }
    FUZZ_CHECK(count(out, name) == 0);
  }

  // One X-Forwarded-For and one Forwarded line naming the peer last. From an untrusted peer they
  // name the peer alone and the client's X-Forwarded-Proto/-Host claims are gone; from a trusted
  // proxy the chain it sent comes first, and its X-Forwarded-Proto stays.
  std::string const element = "for=" + std::string(kClient) + ";proto=http";
  FUZZ_CHECK(count(out, "X-Forwarded-For") == 1);
  FUZZ_CHECK(count(out, "Forwarded") == 1);
  std::string const forwarded_for(out["X-Forwarded-For"]);
  std::string const forwarded(out["Forwarded"]);
  if (trusted) {
    FUZZ_CHECK(forwarded_for == (claimed_for.empty() ? std::string(kClient) : claimed_for + ", " + std::string(kClient)));
    FUZZ_CHECK(forwarded == (claimed_forwarded.empty() ? element : claimed_forwarded + ", " + element));
    if (!claimed_proto.empty()) FUZZ_CHECK(out["X-Forwarded-Proto"] == claimed_proto);
  } else {
    FUZZ_CHECK(forwarded_for == kClient);
    FUZZ_CHECK(forwarded == element);
    FUZZ_CHECK(count(out, "X-Forwarded-Host") == 0);
    FUZZ_CHECK(count(out, "X-Forwarded-Proto") == 1);
  }
  if (!trusted || claimed_proto.empty()) FUZZ_CHECK(out["X-Forwarded-Proto"] == "http");
  FUZZ_CHECK(!out["X-Request-Id"].empty());
  if (request_id.empty()) FUZZ_CHECK(out["X-Request-Id"] == kGeneratedId);

  // The proxy puts the framing back from what it read, then sends the header upstream.
  if (content_length) request->content_length(*content_length);
  else if (chunked) request->chunked(true);
  std::ostringstream wire;
  wire << request->base();

  // The upstream reads the same request, framed the same way, and the gateway's own framing
  // check would pass it: no smuggling through the rewrite.
  Parser upstream;
  auto again = read_header(wire.str(), upstream);
  FUZZ_CHECK(again);
  FUZZ_CHECK(!outboard::gateway::check_request_framing(again->base()));
  FUZZ_CHECK(again->method_string() == method_text);
  FUZZ_CHECK(again->target() == target);
  FUZZ_CHECK(again->version() == request->version());
  FUZZ_CHECK(upstream.content_length() == content_length);
  FUZZ_CHECK(upstream.chunked() == chunked);
  FUZZ_CHECK(count(again->base(), "X-Forwarded-For") == 1);
  return 0;
}
