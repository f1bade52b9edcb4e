#include "state/s3/s3_response.hpp"

#include <array>
#include <charconv>
#include <utility>

namespace outboard::state::s3 {
namespace {

constexpr std::size_t kMaxCode = 64;
constexpr std::size_t kMaxEtag = 1024;

bool is_code_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.';
}

bool is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// XML's predefined entities; any other '&' is kept as it is (S3 sends only these).
constexpr std::array<std::pair<std::string_view, char>, 5> kEntities{{
    {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}}};

std::string xml_unescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    bool decoded = false;
    if (text[i] == '&') {
      for (auto const& [entity, c] : kEntities) {
        if (text.substr(i).starts_with(entity)) {
          out += c;
          i += entity.size();
          decoded = true;
          break;
        }
      }
    }
    if (!decoded) out += text[i++];
  }
  return out;
}

}  // namespace

std::string xml_field(std::string_view xml, std::string_view tag) {
  std::string open = "<" + std::string(tag) + ">";
  std::string close = "</" + std::string(tag) + ">";
  auto at = xml.find(open);
  if (at == std::string_view::npos) return {};
  auto start = at + open.size();
  auto end = xml.find(close, start);
  return end == std::string_view::npos ? std::string() : xml_unescape(xml.substr(start, end - start));
}

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '&') out += "&amp;";
    else if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else out += c;
  }
  return out;
}

std::string error_code(std::string_view body) {
  auto code = xml_field(body, "Code");
  if (code.empty() || code.size() > kMaxCode) return {};
  for (char c : code) {
    if (!is_code_char(c)) return {};
  }
  return code;
}

core::Error refusal(std::string_view request, unsigned status, std::string_view body) {
  auto code = error_code(body);
  std::string what = "S3 answered " + std::to_string(status) + (code.empty() ? "" : " " + code) + " to " +
                     std::string(request);
  if (status == 404) return core::make_error(core::Errc::not_found, what);
  if (status >= 500) return core::make_error(core::Errc::unavailable, what);
  return core::make_error(core::Errc::internal, what);
}

std::optional<core::Error> completion_failure(std::string_view body) {
  if (body.find("<Error>") == std::string_view::npos) return std::nullopt;
  auto code = error_code(body);
  return core::make_error(core::Errc::unavailable,
                          "S3 CompleteMultipartUpload failed" + (code.empty() ? std::string() : ": " + code));
}

std::string complete_upload_body(std::vector<std::string> const& etags) {
  std::string xml = "<CompleteMultipartUpload>";
  for (std::size_t i = 0; i < etags.size(); ++i) {
    xml += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" + xml_escape(etags[i]) +
           "</ETag></Part>";
  }
  xml += "</CompleteMultipartUpload>";
  return xml;
}

bool usable_etag(std::string_view etag) {
  if (etag.empty() || etag.size() > kMaxEtag) return false;
  for (char c : etag) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

std::string render_blob_record(BlobRecord const& record) { return record.sha256 + " " + std::to_string(record.size); }

std::optional<BlobRecord> parse_blob_record(std::string_view text) {
  constexpr std::size_t kHexLength = 64;
  if (text.size() < kHexLength + 2 || text[kHexLength] != ' ') return std::nullopt;
  BlobRecord record;
  record.sha256 = std::string(text.substr(0, kHexLength));
  for (char c : record.sha256) {
    if (!is_lower_hex(c)) return std::nullopt;
  }
  // from_chars takes digits only (no sign, no blanks); a leading zero would not render back.
  auto digits = text.substr(kHexLength + 1);
  if (digits.size() > 1 && digits.front() == '0') return std::nullopt;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), record.size);
  if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
  return record;
}

}  // namespace outboard::state::s3
