#pragma once
// The HTTP rules a proxy must keep, as pure functions over Beast headers (no sockets):
// request-smuggling defences, hop-by-hop headers (RFC 9110 section 7.6.1), forwarding headers,
// and which requests are safe to send twice.
#include <optional>
#include <string>
#include <string_view>

#include "http/message.hpp"

namespace outboard::gateway {

using RequestHeader = http::bhttp::request_header<>;
using ResponseHeader = http::bhttp::response_header<>;

// The framing rules a proxy must keep, over a parsed header: kept as an independent oracle for the
// fuzz targets (the strict layer, http/strict.hpp, must leave nothing for it to find, and a
// rewritten request must still pass it); the gateway's hot path relies on the strict layer.
// A reason to reject the request with 400 and close, or nullopt when its framing is unambiguous:
// Content-Length together with Transfer-Encoding, differing or malformed Content-Lengths, a
// Transfer-Encoding other than a single final "chunked", and header names or values with
// characters a proxy must not pass (CR, LF, NUL, spaces in names).
std::optional<std::string> check_request_framing(RequestHeader const& header);

// True for a WebSocket upgrade request (GET with Upgrade: websocket and Connection: upgrade).
bool is_websocket_upgrade(RequestHeader const& header);

struct ForwardInfo {
  std::string client_address;  // the peer's IP
  std::string request_id;      // generated when the client sent none
  bool websocket = false;      // keep Upgrade/Connection for the handshake
  bool peer_trusted = false;   // the peer is in forwarding.trusted_proxies
};

// Rewrites a client's request header for the upstream: drops hop-by-hop headers (and those the
// Connection header names), sets X-Request-Id (when absent); traceparent passes unchanged.
// Forwarding headers: from an untrusted peer, whatever the client sent in X-Forwarded-For,
// Forwarded, X-Forwarded-Proto and X-Forwarded-Host is a claim nobody checked, so it is dropped
// and X-Forwarded-For / Forwarded name the peer alone. From a trusted proxy the chain is kept and
// the peer appended, and its X-Forwarded-Proto (the scheme it was reached by) is kept.
// X-Forwarded-Proto is otherwise "http": the gateway's listener is plain HTTP.
void prepare_upstream_request(RequestHeader& header, ForwardInfo const& info);

// Drops hop-by-hop headers from an upstream response before it goes to the client (except for
// a 101 Switching Protocols, which needs Upgrade and Connection).
void prepare_client_response(ResponseHeader& header);

// GET, HEAD, OPTIONS, PUT, DELETE, and POST/PATCH carrying an Idempotency-Key.
bool retry_safe(RequestHeader const& header);

}  // namespace outboard::gateway
