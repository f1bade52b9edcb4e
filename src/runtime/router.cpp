#include "runtime/router.hpp"

#include <boost/container/small_vector.hpp>

namespace outboard::runtime {
namespace {
// A path's segments on the stack: matching runs on every request (twice when the connection
// loop asks whether the route streams its body), and a vector here was an allocation each time.
using Segments = boost::container::small_vector<std::string_view, 12>;

Segments split_path(std::string_view path) {
  Segments out;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash);
  }
  return out;
}
}  // namespace

void Router::add(http::bhttp::verb method, std::string pattern, Handler handler, RouteOptions options) {
  Route r{method, pattern, {}, std::move(handler), std::move(options)};
  for (auto s : split_path(pattern)) r.segments.emplace_back(s);
  routes_.push_back(std::move(r));
}

bool Router::wrap(http::bhttp::verb method, std::string_view pattern,
                  std::function<Handler(Handler)> const& decorate) {
  for (auto& r : routes_) {
    if (r.method != method || r.pattern != pattern) continue;
    r.handler = decorate(std::move(r.handler));
    return true;
  }
  return false;
}

bool Router::match_segments(Route const& route, std::span<std::string_view const> parts, PathParams& params) {
  if (route.segments.size() != parts.size()) return false;
  PathParams found;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    auto const& seg = route.segments[i];
    if (seg.size() > 2 && seg.front() == '{' && seg.back() == '}') {
      found[seg.substr(1, seg.size() - 2)] = std::string(parts[i]);
    } else if (seg != parts[i]) {
      return false;
    }
  }
  params = std::move(found);
  return true;
}

std::vector<Router::RouteName> Router::names() const {
  std::vector<RouteName> out;
  for (auto const& r : routes_) out.push_back({std::string(http::bhttp::to_string(r.method)), r.pattern});
  return out;
}

Router::Match Router::match(http::bhttp::verb method, std::string_view target) const {
  std::string_view path = target.substr(0, target.find('?'));
  auto parts = split_path(path);
  Match m;
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    auto const& r = routes_[i];
    PathParams params;
    if (!match_segments(r, std::span<std::string_view const>(parts.data(), parts.size()), params)) continue;
    if (r.method == method || (method == http::bhttp::verb::head && r.method == http::bhttp::verb::get)) {
      m.handler = &r.handler;
      m.options = &r.options;
      m.index = static_cast<int>(i);
      m.params = std::move(params);
      m.route = r.pattern;
      return m;
    }
    if (!m.allow.empty()) m.allow += ", ";
    m.allow += std::string(http::bhttp::to_string(r.method));
    m.route = r.pattern;
  }
  return m;
}

}  // namespace outboard::runtime
