#include "http/strict.hpp"

#include <boost/container/small_vector.hpp>

#include <algorithm>
#include <cstring>
#include <vector>

#include "http/syntax.hpp"

namespace outboard::http {

namespace {

using namespace syntax;

// Which side of the exchange a head comes from: a request is refused with the rule's own status,
// a backend's response with 502 whatever the rule (the client did nothing wrong).
enum class Side { request, response };

struct Checker {
  Side side;

  Rejection reject(Status request_status, std::string_view rule, std::string detail) const {
    Status status = side == Side::request ? request_status : Status::bad_gateway;
    return Rejection{status, std::string(rule), std::move(detail)};
  }
  Rejection bad(std::string_view rule, std::string detail) const {
    return reject(Status::bad_request, rule, std::move(detail));
  }
};

struct FieldLine {
  std::string_view name;
  std::string_view value;  // without surrounding whitespace
};

// Where the line starting at `start` ends: its LF (null when none comes before `end`) and the
// first CR before that LF (or before `end`), null when none. A well-formed line has cr + 1 == lf.
struct LineBreak {
  char const* lf;
  char const* cr;
};
LineBreak next_line_break(char const* start, char const* end) {
  auto const* lf = static_cast<char const*>(std::memchr(start, '\n', static_cast<std::size_t>(end - start)));
  auto const* cr = static_cast<char const*>(std::memchr(start, '\r', static_cast<std::size_t>((lf ? lf : end) - start)));
  return {lf, cr};
}

// A head's lines and fields live on the stack: a request has a handful, and two vectors grown
// one push at a time were a tenth of the allocations of a whole `GET /me` (bench/service/profile.sh).
using Lines = boost::container::small_vector<std::string_view, 24>;

// The lines of `head` up to its first empty line (not returned), checking on the way, over the
// whole head, RFC 9112 section 2.2's line endings: CR only inside CRLF, LF only after CR. The
// first bad ending by position is the one reported, so no later rule ever sees a line split
// differently than a peer would. memchr finds each line's LF and any CR before it.
std::optional<Rejection> split_checked_lines(std::string_view head, Lines& lines, Checker const& c) {
  char const* const begin = head.data();
  char const* const end = begin + head.size();
  char const* start = begin;
  bool in_head = true;  // before the first empty line
  while (start < end) {
    auto [lf, cr] = next_line_break(start, end);
    if (cr && (!lf || cr + 1 != lf)) return c.bad("bare-cr", "a CR not followed by LF (RFC 9112 section 2.2)");
    if (!lf) break;
    if (!cr) return c.bad("bare-lf", "a line ends with LF alone; outboard requires CRLF (RFC 9112 section 2.2)");
    if (cr == start) in_head = false;  // the empty line ends the head
    if (in_head) lines.emplace_back(start, static_cast<std::size_t>(cr - start));
    start = lf + 1;
  }
  // The first empty line ends the head: anything after it is not part of this head.
  if (head.find("\r\n\r\n") + 4 != head.size()) {
    return c.bad("head-incomplete", "the head does not end with its first empty line");
  }
  return std::nullopt;
}

std::optional<Rejection> parse_field_line(std::string_view line, FieldLine& out, Checker const& c) {
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return c.bad("field-name-token", "a field line without a colon");
  std::string_view name = line.substr(0, colon);
  if (name.empty()) return c.bad("field-name-token", "a field line with an empty name");
  if (is_ows(name.back())) {
    return c.bad("field-name-whitespace", "whitespace between a field name and its colon (RFC 9112 section 5.1)");
  }
  if (!is_token(name)) return c.bad("field-name-token", "a field name with a character that is not a token character");
  std::string_view value = trim_ows(line.substr(colon + 1));
  if (!std::all_of(value.begin(), value.end(), [](char ch) { return is_field_char(ch); })) {
    return c.bad("field-value-char", "a field value with a control character (RFC 9110 section 5.5)");
  }
  out = FieldLine{name, value};
  return std::nullopt;
}

// The field lines after the start line: syntax, obs-fold, count.
using Fields = boost::container::small_vector<FieldLine, 24>;

std::optional<Rejection> parse_fields(Lines const& lines, HeadLimits const& limits, Fields& fields, Checker const& c) {
  if (lines.size() - 1 > limits.max_fields) {
    return c.reject(Status::request_header_fields_too_large, "too-many-fields",
                    "more than " + std::to_string(limits.max_fields) + " header fields");
  }
  for (std::size_t i = 1; i < lines.size(); ++i) {
    if (is_ows(lines[i].front())) {
      if (i == 1) {
        return c.bad("whitespace-after-start-line",
                     "whitespace between the start line and the first field (RFC 9112 section 2.2)");
      }
      return c.bad("obs-fold", "a field value folded over several lines (obs-fold, RFC 9112 section 5.2)");
    }
    FieldLine field;
    if (auto r = parse_field_line(lines[i], field, c)) return r;
    fields.push_back(field);
  }
  return std::nullopt;
}

using Values = boost::container::small_vector<std::string_view, 2>;

Values values_of(Fields const& fields, std::string_view name) {
  Values values;
  for (auto const& f : fields) {
    if (iequals(f.name, name)) values.push_back(f.value);
  }
  return values;
}

// RFC 9112 section 6: exactly one way to find where the body ends, or the message is refused.
std::optional<Rejection> check_framing(Fields const& fields, int version, Checker const& c) {
  auto lengths = values_of(fields, "content-length");
  if (lengths.size() > 1) return c.bad("cl-duplicate", "more than one Content-Length field");
  if (lengths.size() == 1) {
    std::string_view v = lengths.front();
    if (v.find(',') != std::string_view::npos) return c.bad("cl-list", "a Content-Length with a list of values");
    if (v.empty() || !std::all_of(v.begin(), v.end(), is_digit)) {
      return c.bad("cl-invalid", "a Content-Length that is not a decimal number");
    }
    auto significant = v.substr(std::min(v.find_first_not_of('0'), v.size()));
    if (significant.size() > 18) return c.bad("cl-overflow", "a Content-Length too large to represent");
  }
  auto encodings = values_of(fields, "transfer-encoding");
  if (encodings.empty()) return std::nullopt;
  if (!lengths.empty()) {
    return c.bad("te-and-cl", "both Transfer-Encoding and Content-Length (RFC 9112 section 6.3)");
  }
  if (version == 10) {
    return c.bad("te-http10", "Transfer-Encoding in an HTTP/1.0 message (RFC 9112 section 6.1)");
  }
  std::vector<std::string> codings;
  for (auto value : encodings) {
    for (auto element : split_list(value)) {
      if (element.empty()) continue;  // empty list elements are ignored (RFC 9110 section 5.6.1)
      if (!is_token(element)) return c.bad("te-invalid", "a Transfer-Encoding element that is not a coding name");
      codings.push_back(lower(element));
    }
  }
  if (codings.empty()) return c.bad("te-invalid", "an empty Transfer-Encoding");
  if (std::count(codings.begin(), codings.end(), "chunked") > 1) {
    return c.bad("te-chunked-twice", "chunked applied more than once (RFC 9112 section 6.1)");
  }
  if (codings.back() != "chunked") {
    return c.bad("te-not-chunked-last", "a Transfer-Encoding whose final coding is not chunked (RFC 9112 section 6.3)");
  }
  if (codings.size() > 1) {
    return c.reject(Status::not_implemented, "te-unsupported",
                    "a transfer coding other than chunked (RFC 9112 section 6.1)");
  }
  return std::nullopt;
}

// "HTTP/" DIGIT "." DIGIT: 10 or 11 for the versions outboard speaks, 0 for a well-formed other
// one, -1 for a malformed one.
int parse_version(std::string_view v) {
  if (v.size() != 8 || !v.starts_with("HTTP/") || !is_digit(v[5]) || v[6] != '.' || !is_digit(v[7])) return -1;
  int n = (v[5] - '0') * 10 + (v[7] - '0');
  return n == 10 || n == 11 ? n : 0;
}

std::optional<Rejection> check_version(int version, Checker const& c) {
  if (version < 0) return c.bad("version-syntax", "a malformed HTTP version");
  if (version == 0) {
    return c.reject(Status::http_version_not_supported, "version-unsupported",
                    "only HTTP/1.0 and HTTP/1.1 are spoken here");
  }
  return std::nullopt;
}

// The authority of an absolute-form target ("http://host:port/path" -> "host:port"), or
// nullopt when the target is not an http(s) URI with one.
std::optional<std::string_view> absolute_authority(std::string_view target) {
  auto sep = target.find("://");
  if (sep == std::string_view::npos) return std::nullopt;
  auto scheme = lower(target.substr(0, sep));
  if (scheme != "http" && scheme != "https") return std::nullopt;
  auto rest = target.substr(sep + 3);
  auto authority = rest.substr(0, rest.find_first_of("/?"));
  if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
  return authority;
}

// RFC 9112 section 3.2: which target form fits the method.
std::optional<Rejection> check_target_form(std::string_view method, std::string_view target,
                                           std::optional<std::string_view>& authority, Checker const& c) {
  if (method == "CONNECT") {
    auto colon = target.rfind(':');
    bool ok = colon != std::string_view::npos && colon > 0 && is_valid_host(target) &&
              colon + 1 < target.size();
    if (!ok) return c.bad("target-form", "CONNECT needs an authority-form target (host:port)");
    return std::nullopt;
  }
  if (target == "*") {
    if (method != "OPTIONS") return c.bad("target-form", "the asterisk target is for OPTIONS only");
    return std::nullopt;
  }
  if (target.front() == '/') return std::nullopt;
  authority = absolute_authority(target);
  if (!authority) return c.bad("target-form", "a target that is neither origin-form nor an http(s) absolute URI");
  return std::nullopt;
}

std::optional<Rejection> check_request_line(std::string_view line, HeadLimits const& limits, int& version,
                                            std::optional<std::string_view>& authority, Checker const& c) {
  auto sp1 = line.find(' ');
  auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return c.bad("request-line", "the request line is not method SP target SP version (RFC 9112 section 3)");
  }
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view ver = line.substr(sp2 + 1);
  if (target.size() > limits.max_target_bytes) {
    return c.reject(Status::uri_too_long, "target-too-long",
                    "the request target is over " + std::to_string(limits.max_target_bytes) + " bytes");
  }
  if (method.empty() || target.empty() || ver.empty()) {
    return c.bad("request-line", "the request line is not method SP target SP version (RFC 9112 section 3)");
  }
  if (!is_token(method)) return c.bad("method-token", "a method that is not a token");
  if (!is_valid_target(target)) {
    return c.bad("target-char", "the target has a byte a URI may not hold raw (space, control, non-ASCII) "
                                "or a malformed percent-encoding");
  }
  version = parse_version(ver);
  if (auto r = check_version(version, c)) return r;
  return check_target_form(method, target, authority, c);
}

// RFC 9112 section 3.2: one valid Host in HTTP/1.1 (and at most one in HTTP/1.0); with an
// absolute-form target it must name the same authority, since outboard refuses rather than
// choose which one a backend will believe.
std::optional<Rejection> check_host(Fields const& fields, int version,
                                    std::optional<std::string_view> authority, Checker const& c) {
  auto hosts = values_of(fields, "host");
  if (hosts.size() > 1) return c.bad("host-duplicate", "more than one Host field");
  if (hosts.empty()) {
    if (version == 11) return c.bad("host-missing", "an HTTP/1.1 request without Host");
    return std::nullopt;
  }
  if (!is_valid_host(hosts.front())) return c.bad("host-invalid", "a Host that is not host[:port]");
  if (authority && !iequals(*authority, hosts.front())) {
    return c.bad("host-mismatch", "the Host differs from the authority of the absolute-form target");
  }
  return std::nullopt;
}

std::optional<Rejection> check_size(std::string_view head, HeadLimits const& limits, Checker const& c) {
  if (head.size() > limits.max_head_bytes) {
    return c.reject(Status::request_header_fields_too_large, "head-too-large",
                    "the head is over " + std::to_string(limits.max_head_bytes) + " bytes");
  }
  return std::nullopt;
}

std::optional<Rejection> check_status_line(std::string_view line, int& version, Checker const& c) {
  // status-line = HTTP-version SP 3DIGIT SP [reason-phrase]: the second SP is required even
  // before an empty reason (Beast requires it too).
  auto sp = line.find(' ');
  version = parse_version(line.substr(0, sp));
  if (auto r = check_version(version, c)) return r;
  if (sp == std::string_view::npos) return c.bad("status-line", "a status line without a status code");
  auto code = line.substr(sp + 1, 3);
  auto rest = line.substr(std::min(line.size(), sp + 4));
  if (code.size() != 3 || !std::all_of(code.begin(), code.end(), is_digit) || code[0] < '1' || code[0] > '5') {
    return c.bad("status-line", "a status code that is not three digits 100-599");
  }
  if (rest.empty() || rest.front() != ' ') return c.bad("status-line", "no space after the status code");
  if (!std::all_of(rest.begin(), rest.end(), [](char ch) { return is_field_char(ch); })) {
    return c.bad("status-line", "a reason phrase with a control character");
  }
  return std::nullopt;
}

// Size, line endings, and the lines of a head; `start_rule` names an empty start line.
std::optional<Rejection> check_lines(std::string_view head, HeadLimits const& limits, Lines& lines,
                                     std::string_view start_rule, Checker const& c) {
  if (auto r = check_size(head, limits, c)) return r;
  if (auto r = split_checked_lines(head, lines, c)) return r;
  if (lines.empty()) return c.bad(start_rule, "no start line");
  return std::nullopt;
}

}  // namespace

std::optional<std::size_t> find_head_end(std::string_view bytes) {
  // Line by line (memchr for each LF, then for a CR before it), as the byte loop it replaced
  // answered: the first bare CR or bare LF by position ends the scan there, else the LF of the
  // first CRLF CRLF ends the head.
  char const* const begin = bytes.data();
  char const* const end = begin + bytes.size();
  char const* start = begin;
  while (start < end) {
    auto [lf, cr] = next_line_break(start, end);
    if (cr && cr + 1 < end && cr + 1 != lf) return static_cast<std::size_t>(cr - begin) + 1;  // bare CR
    if (!lf) return std::nullopt;
    if (!cr) return static_cast<std::size_t>(lf - begin) + 1;  // bare LF: hand it over
    auto offset = static_cast<std::size_t>(lf - begin);
    if (offset >= 3 && bytes.substr(offset - 3, 4) == "\r\n\r\n") return offset + 1;
    start = lf + 1;
  }
  return std::nullopt;
}

std::size_t leading_empty_lines(std::string_view bytes) {
  std::size_t n = 0;
  while (bytes.substr(n, 2) == "\r\n") n += 2;
  return n;
}

std::optional<Rejection> check_partial_head(std::string_view bytes, HeadLimits const& limits, bool request) {
  Checker c{request ? Side::request : Side::response};
  // A target still arriving and already past its limit: 414 now, as the whole line would get.
  auto line = bytes.substr(0, bytes.find_first_of("\r\n"));
  auto sp = line.find(' ');
  if (request && sp != std::string_view::npos) {
    auto target = line.substr(sp + 1);
    target = target.substr(0, target.find(' '));
    if (target.size() > limits.max_target_bytes) {
      return c.reject(Status::uri_too_long, "target-too-long",
                      "the request target is over " + std::to_string(limits.max_target_bytes) + " bytes");
    }
  }
  return check_size(bytes, limits, c);
}

std::optional<Rejection> check_request_head(std::string_view head, HeadLimits const& limits) {
  Checker c{Side::request};
  Lines lines;
  if (auto r = check_lines(head, limits, lines, "request-line", c)) return r;
  int version = 0;
  std::optional<std::string_view> authority;
  if (auto r = check_request_line(lines.front(), limits, version, authority, c)) return r;
  Fields fields;
  if (auto r = parse_fields(lines, limits, fields, c)) return r;
  if (auto r = check_host(fields, version, authority, c)) return r;
  return check_framing(fields, version, c);
}

std::optional<Rejection> check_response_head(std::string_view head, HeadLimits const& limits) {
  Checker c{Side::response};
  Lines lines;
  if (auto r = check_lines(head, limits, lines, "status-line", c)) return r;
  int version = 0;
  if (auto r = check_status_line(lines.front(), version, c)) return r;
  Fields fields;
  if (auto r = parse_fields(lines, limits, fields, c)) return r;
  return check_framing(fields, version, c);
}

std::optional<Rejection> check_field_line(std::string_view line) {
  FieldLine ignored;
  if (!line.empty() && is_ows(line.front())) {
    return Checker{Side::request}.bad("obs-fold", "a field line starting with whitespace (obs-fold)");
  }
  return parse_field_line(line, ignored, Checker{Side::request});
}

Response rejection_response(Rejection const& rejection) {
  auto res = json_error(rejection.status, rejection.rule, rejection.detail);
  res.keep_alive(false);
  return res;
}

}  // namespace outboard::http
