#include "gateway/forwarding.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

namespace outboard::gateway {
namespace {

using field = http::bhttp::field;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::vector<std::string> comma_list(std::string_view s) {
  std::vector<std::string> out;
  while (true) {
    auto comma = s.find(',');
    auto item = trim(s.substr(0, comma));
    if (!item.empty()) out.push_back(lower(item));
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return out;
}

bool valid_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    // RFC 9110 token characters only.
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

bool valid_value(std::string_view value) {
  for (char c : value) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

// Hop-by-hop headers of RFC 9110 section 7.6.1, plus the legacy ones proxies still see.
constexpr std::string_view kHopByHop[] = {"connection", "keep-alive", "proxy-connection", "te",
                                          "trailer",    "upgrade",    "transfer-encoding", "proxy-authorization"};

void drop_hop_by_hop(http::bhttp::fields& fields, bool keep_upgrade) {
  std::vector<std::string> named;
  auto connection = fields.equal_range(field::connection);
  for (auto it = connection.first; it != connection.second; ++it) {
    for (auto& token : comma_list(it->value())) named.push_back(token);
  }
  std::vector<std::string> doomed;
  for (auto const& f : fields) {
    std::string name = lower(f.name_string());
    bool hop = std::find(std::begin(kHopByHop), std::end(kHopByHop), name) != std::end(kHopByHop) ||
               std::find(named.begin(), named.end(), name) != named.end();
    if (keep_upgrade && (name == "upgrade" || name == "connection")) hop = false;
    // Transfer-Encoding is framing, redone by our own serializer from the body we send.
    if (hop) doomed.push_back(name);
  }
  for (auto const& name : doomed) fields.erase(name);
}

}  // namespace

std::optional<std::string> check_request_framing(RequestHeader const& header) {
  for (auto const& f : header) {
    if (!valid_name(f.name_string())) return "malformed header name";
    if (!valid_value(f.value())) return "malformed header value";
  }
  auto cls = header.equal_range(field::content_length);
  std::optional<std::string> length;
  for (auto it = cls.first; it != cls.second; ++it) {
    auto values = comma_list(it->value());
    if (values.empty()) return "malformed Content-Length";
    for (auto const& v : values) {
      if (v.empty() || !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return "malformed Content-Length";
      }
      if (length && *length != v) return "conflicting Content-Length headers";
      length = v;
    }
  }
  auto tes = header.equal_range(field::transfer_encoding);
  std::vector<std::string> codings;
  for (auto it = tes.first; it != tes.second; ++it) {
    for (auto& c : comma_list(it->value())) codings.push_back(c);
  }
  if (tes.first != tes.second) {
    if (length) return "both Content-Length and Transfer-Encoding";
    if (codings.size() != 1 || codings.back() != "chunked") return "unsupported Transfer-Encoding";
  }
  return std::nullopt;
}

bool is_websocket_upgrade(RequestHeader const& header) {
  if (header.method() != http::bhttp::verb::get) return false;
  bool upgrade_token = false;
  auto connection = header.equal_range(field::connection);
  for (auto it = connection.first; it != connection.second; ++it) {
    for (auto const& t : comma_list(it->value())) upgrade_token = upgrade_token || t == "upgrade";
  }
  return upgrade_token && lower(header[field::upgrade]) == "websocket";
}

namespace {

// Every line of a header that may repeat, as one comma-joined list ("" when absent).
std::string joined(RequestHeader const& header, std::string_view name) {
  std::string out;
  auto lines = header.equal_range(name);
  for (auto it = lines.first; it != lines.second; ++it) {
    auto value = trim(it->value());
    if (value.empty()) continue;
    if (!out.empty()) out += ", ";
    out += value;
  }
  return out;
}

// The peer as a Forwarded "for=" node (RFC 7239 section 6): an IPv6 address in quotes and brackets.
std::string forwarded_element(std::string const& address) {
  std::string node = address.find(':') == std::string::npos ? address : "\"[" + address + "]\"";
  return "for=" + node + ";proto=http";
}

}  // namespace

void prepare_upstream_request(RequestHeader& header, ForwardInfo const& info) {
  drop_hop_by_hop(header, info.websocket);
  std::string chain = info.peer_trusted ? joined(header, "X-Forwarded-For") : "";
  std::string forwarded = info.peer_trusted ? joined(header, "Forwarded") : "";
  if (!info.peer_trusted) {
    header.erase("X-Forwarded-Proto");
    header.erase("X-Forwarded-Host");
  }
  header.set("X-Forwarded-For", chain.empty() ? info.client_address : chain + ", " + info.client_address);
  std::string element = forwarded_element(info.client_address);
  header.set(field::forwarded, forwarded.empty() ? element : forwarded + ", " + element);
  if (header["X-Forwarded-Proto"].empty()) header.set("X-Forwarded-Proto", "http");
  if (header["X-Request-Id"].empty()) header.set("X-Request-Id", info.request_id);
}

void prepare_client_response(ResponseHeader& header) {
  drop_hop_by_hop(header, header.result() == http::Status::switching_protocols);
}

bool retry_safe(RequestHeader const& header) {
  using http::bhttp::verb;
  switch (header.method()) {
    case verb::get:
    case verb::head:
    case verb::options:
    case verb::put:
    case verb::delete_:
      return true;
    case verb::post:
    case verb::patch:
      return !header["Idempotency-Key"].empty();
    default:
      return false;
  }
}

}  // namespace outboard::gateway
