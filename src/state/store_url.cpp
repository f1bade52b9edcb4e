#include "state/store_url.hpp"

#include <charconv>

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

}  // namespace

core::Result<StoreUrl> parse_store_url(std::string_view url) {
  auto sep = url.find("://");
  if (sep == std::string_view::npos) {
    return bad(url, "expected scheme://..., one of memory://, sqlite://PATH, redis://HOST:PORT/DB, file://DIR");
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
    auto at = rest.rfind('@');
    if (at != std::string_view::npos) {
      std::string_view userinfo = rest.substr(0, at);
      auto colon = userinfo.find(':');
      out.password = std::string(colon == std::string_view::npos ? userinfo : userinfo.substr(colon + 1));
      rest = rest.substr(at + 1);
    }
    std::string_view hostport = rest;
    auto slash = rest.find('/');
    if (slash != std::string_view::npos) {
      hostport = rest.substr(0, slash);
      std::string_view db = rest.substr(slash + 1);
      if (!db.empty() && (!parse_int(db, out.database) || out.database < 0)) {
        return bad(url, "database '" + std::string(db) + "' is not a non-negative integer");
      }
    }
    auto colon = hostport.rfind(':');
    if (colon == std::string_view::npos) {
      out.host = std::string(hostport);
      out.port = 6379;
    } else {
      out.host = std::string(hostport.substr(0, colon));
      if (!parse_int(hostport.substr(colon + 1), out.port) || out.port == 0) {
        return bad(url, "port '" + std::string(hostport.substr(colon + 1)) + "' is not 1-65535");
      }
    }
    if (out.host.empty()) return bad(url, "missing a host");
    return out;
  }
  return bad(url, "unknown scheme '" + out.scheme + "' (memory, sqlite, redis, file)");
}

}  // namespace outboard::state
