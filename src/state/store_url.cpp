#include "state/store_url.hpp"

#include <charconv>
#include <optional>

namespace outboard::state {
namespace {

core::Error bad(std::string_view url, std::string const& why) {
  return core::make_error(core::Errc::invalid, "store URL '" + std::string(url) + "': " + why);
}

template <class Int>
bool parse_int(std::string_view text, Int& out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && ptr == text.data() + text.size() && !text.empty();
}

// "host[:port]" into out; the default port when none is given.
std::optional<std::string> parse_host_port(std::string_view hostport, std::string& host, std::uint16_t& port) {
  auto colon = hostport.rfind(':');
  if (colon == std::string_view::npos) {
    host = std::string(hostport);
    port = 6379;
  } else {
    host = std::string(hostport.substr(0, colon));
    if (!parse_int(hostport.substr(colon + 1), port) || port == 0) {
      return "port '" + std::string(hostport.substr(colon + 1)) + "' is not 1-65535";
    }
  }
  if (host.empty()) return std::string("missing a host");
  return std::nullopt;
}

// [user][:password]@ in front of the hosts: the password, and the rest after '@'.
std::string_view take_password(std::string_view rest, std::string& password) {
  auto at = rest.rfind('@');
  if (at == std::string_view::npos) return rest;
  std::string_view userinfo = rest.substr(0, at);
  auto colon = userinfo.find(':');
  password = std::string(colon == std::string_view::npos ? userinfo : userinfo.substr(colon + 1));
  return rest.substr(at + 1);
}

}  // namespace

std::string redact_store_url(std::string_view url) {
  auto sep = url.find("://");
  if (sep == std::string_view::npos) return std::string(url);
  std::string_view rest = url.substr(sep + 3);
  auto end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, end);
  auto at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  std::string_view userinfo = authority.substr(0, at);
  auto colon = userinfo.find(':');
  if (colon == std::string_view::npos) return std::string(url);
  return std::string(url.substr(0, sep + 3)) + std::string(userinfo.substr(0, colon)) + ":***" +
         std::string(rest.substr(at));
}

core::Result<StoreUrl> parse_store_url(std::string_view url) {
  auto sep = url.find("://");
  if (sep == std::string_view::npos) {
    return bad(url, "expected scheme://..., one of memory://, sqlite://PATH, redis://HOST:PORT/DB, "
                    "redis-cluster://HOST:PORT[,HOST:PORT...], postgres://..., file://DIR, s3://BUCKET/PREFIX");
  }
  StoreUrl out;
  out.scheme = std::string(url.substr(0, sep));
  std::string_view rest = url.substr(sep + 3);

  if (out.scheme == "memory") {
    if (!rest.empty()) return bad(url, "memory:// takes nothing after the scheme");
    return out;
  }
  if (out.scheme == "sqlite" || out.scheme == "file") {
    // sqlite:///abs/path keeps its leading slash; sqlite://rel/path is relative to the cwd.
    if (rest.empty()) return bad(url, "missing a path");
    out.path = std::string(rest);
    return out;
  }
  if (out.scheme == "redis") {
    rest = take_password(rest, out.password);
    std::string_view hostport = rest;
    auto slash = rest.find('/');
    if (slash != std::string_view::npos) {
      hostport = rest.substr(0, slash);
      std::string_view db = rest.substr(slash + 1);
      if (!db.empty() && (!parse_int(db, out.database) || out.database < 0)) {
        return bad(url, "database '" + std::string(db) + "' is not a non-negative integer");
      }
    }
    if (auto why = parse_host_port(hostport, out.host, out.port)) return bad(url, *why);
    return out;
  }
  if (out.scheme == "redis-cluster") {
    // A cluster has one database: no /DB (SELECT is refused in cluster mode).
    rest = take_password(rest, out.password);
    if (rest.find('/') != std::string_view::npos) return bad(url, "a cluster has no database number: drop the /DB");
    while (true) {
      auto comma = rest.find(',');
      std::string_view node = rest.substr(0, comma);
      std::pair<std::string, std::uint16_t> seed;
      if (auto why = parse_host_port(node, seed.first, seed.second)) return bad(url, *why);
      out.nodes.push_back(std::move(seed));
      if (comma == std::string_view::npos) break;
      rest = rest.substr(comma + 1);
    }
    out.host = out.nodes.front().first;
    out.port = out.nodes.front().second;
    out.raw = std::string(url);
    return out;
  }
  if (out.scheme == "postgres" || out.scheme == "postgresql") {
    out.scheme = "postgres";
    if (rest.empty()) return bad(url, "missing a host or database");
    out.raw = std::string(url);
    take_password(rest.substr(0, rest.find_first_of("/?")), out.password);
    return out;
  }
  if (out.scheme == "s3") {
    if (rest.empty() || rest.front() == '/' || rest.front() == '?') return bad(url, "missing a bucket: s3://BUCKET/PREFIX");
    out.raw = std::string(url);
    return out;
  }
  return bad(url, "unknown scheme '" + out.scheme + "' (memory, sqlite, redis, redis-cluster, postgres, file, s3)");
}

}  // namespace outboard::state
