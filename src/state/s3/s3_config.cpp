#include "state/s3/s3_config.hpp"

#include <cctype>
#include <charconv>
#include <map>
#include <sstream>
#include <stdexcept>

#include "core/secret_file.hpp"

namespace outboard::state::s3 {
namespace {

core::Error invalid(std::string reason) { return core::make_error(core::Errc::invalid, "s3 URL: " + std::move(reason)); }

// Query parameters, split but not echoed anywhere: a value might be a secret pasted by mistake.
std::map<std::string, std::string> split_query(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    auto amp = query.find('&');
    auto item = query.substr(0, amp);
    auto eq = item.find('=');
    out[std::string(item.substr(0, eq))] = eq == std::string_view::npos ? "" : std::string(item.substr(eq + 1));
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
  }
  return out;
}

bool looks_like_credentials(std::string const& name) {
  for (char const* word : {"key", "secret", "token", "credential", "password", "signature"}) {
    if (name.find(word) != std::string::npos) return true;
  }
  return false;
}

core::Result<void> parse_endpoint(std::string_view endpoint, S3Options& out) {
  if (endpoint.starts_with("https://"))
    return invalid("https endpoints are not supported yet (no TLS in the S3 client); use an http:// endpoint "
                   "on a trusted network or a local TLS-terminating proxy");
  if (!endpoint.starts_with("http://")) return invalid("endpoint must be http://HOST:PORT");
  auto authority = endpoint.substr(7);
  if (auto slash = authority.find('/'); slash != std::string_view::npos) {
    if (authority.substr(slash) != "/") return invalid("endpoint must not have a path (path-style requests add the bucket)");
    authority = authority.substr(0, slash);
  }
  if (authority.find('@') != std::string_view::npos)
    return invalid("credentials never go in the URL: use AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or OUTBOARD_S3_CREDENTIALS_FILE");
  auto colon = authority.rfind(':');
  out.host = std::string(authority.substr(0, colon));
  out.port = 80;
  if (colon != std::string_view::npos) {
    auto digits = authority.substr(colon + 1);
    unsigned port = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (ec != std::errc() || end != digits.data() + digits.size() || port == 0 || port > 65535)
      return invalid("endpoint port must be 1..65535");
    out.port = static_cast<std::uint16_t>(port);
  }
  if (out.host.empty()) return invalid("endpoint has no host");
  return {};
}

core::Result<void> parse_part_size(std::string const& text, S3Options& out) {
  std::size_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return invalid("part_size must be a number of bytes");
  if (value < kMinPartSize) return invalid("part_size must be at least 5242880 (S3's minimum part size)");
  out.part_size = value;
  return {};
}

}  // namespace

core::Result<S3Options> parse_s3_url(std::string_view url) {
  if (!url.starts_with("s3://")) return invalid("expected s3://BUCKET/PREFIX?endpoint=http://HOST:PORT");
  auto rest = url.substr(5);
  auto question = rest.find('?');
  auto location = rest.substr(0, question);
  auto query = question == std::string_view::npos ? std::string_view{} : rest.substr(question + 1);
  if (location.find('@') != std::string_view::npos)
    return invalid("credentials never go in the URL: use AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or OUTBOARD_S3_CREDENTIALS_FILE");

  S3Options out;
  auto slash = location.find('/');
  out.bucket = std::string(location.substr(0, slash));
  if (out.bucket.empty()) return invalid("missing a bucket: s3://BUCKET/PREFIX");
  for (char c : out.bucket) {
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '.'))
      return invalid("bucket names are lower-case letters, digits, '-' and '.'");
  }
  if (slash != std::string_view::npos) out.prefix = std::string(location.substr(slash + 1));
  if (!out.prefix.empty() && out.prefix.back() != '/') out.prefix += '/';

  auto params = split_query(query);
  for (auto const& [name, value] : params) {
    if (looks_like_credentials(name))
      return invalid("credentials never go in the URL (parameter '" + name +
                     "'): use AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or OUTBOARD_S3_CREDENTIALS_FILE");
    if (name != "endpoint" && name != "region" && name != "part_size")
      return invalid("unknown parameter '" + name + "' (endpoint, region, part_size)");
  }
  auto endpoint = params.find("endpoint");
  if (endpoint == params.end()) return invalid("missing endpoint=http://HOST:PORT (an S3-compatible server)");
  if (auto r = parse_endpoint(endpoint->second, out); !r) return r.error();
  if (auto region = params.find("region"); region != params.end()) {
    if (region->second.empty()) return invalid("region is empty");
    out.region = region->second;
  }
  if (auto part = params.find("part_size"); part != params.end()) {
    if (auto r = parse_part_size(part->second, out); !r) return r.error();
  }
  return out;
}

namespace {

core::Result<SigningKeys> keys_from_file(std::string const& path) {
  std::string text;
  try {
    text = core::read_secret_file(path);
  } catch (std::exception const& e) {
    return core::make_error(core::Errc::invalid, std::string("OUTBOARD_S3_CREDENTIALS_FILE: ") + e.what());
  }
  SigningKeys keys;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line.front() == '#') continue;
    auto eq = line.find('=');
    auto name = line.substr(0, eq);
    auto value = eq == std::string::npos ? std::string() : line.substr(eq + 1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\r')) value.pop_back();
    if (name == "key_id") keys.key_id = value;
    else if (name == "secret") keys.secret = value;
    else if (name == "session_token") keys.session_token = value;
    else return core::make_error(core::Errc::invalid, "S3 credentials file " + path + ": unknown line '" + name +
                                 "' (key_id=, secret=, session_token=)");
  }
  if (keys.key_id.empty() || keys.secret.empty())
    return core::make_error(core::Errc::invalid, "S3 credentials file " + path + " needs key_id= and secret= lines");
  return keys;
}

}  // namespace

core::Result<SigningKeys> s3_credentials(GetEnv const& getenv) {
  auto read = [&](char const* name) {
    char const* value = getenv(name);
    return std::string(value ? value : "");
  };
  SigningKeys keys{read("AWS_ACCESS_KEY_ID"), read("AWS_SECRET_ACCESS_KEY"), read("AWS_SESSION_TOKEN")};
  if (!keys.key_id.empty() && !keys.secret.empty()) return keys;
  if (auto file = read("OUTBOARD_S3_CREDENTIALS_FILE"); !file.empty()) return keys_from_file(file);
  return core::make_error(core::Errc::invalid,
                          "s3:// needs credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN "
                          "if temporary), or OUTBOARD_S3_CREDENTIALS_FILE naming a 0600 file of key_id=/secret= lines");
}

}  // namespace outboard::state::s3
