// fuzz-link: outboard_core
// fuzz-sources: src/state/s3/s3_response.cpp
// What the S3 client reads from a server's answers (src/state/s3/s3_response.hpp): XML fields,
// error codes, CompleteMultipartUpload's failure-in-a-200, a part's ETag, the blob records.
// Input: a first line, the ETag header; a second line, the status; then the body.
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "state/s3/s3_response.hpp"

namespace {

namespace s3 = outboard::state::s3;
using outboard::core::Errc;

bool code_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.';
}

// Printable ASCII with no line breaks: what may go into a log line.
bool printable(std::string_view text) {
  for (char c : text) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// Whatever a field holds, escaped into an element it reads back unchanged.
void check_fields(std::string_view body) {
  for (std::string_view tag : {"Code", "Message", "UploadId", "ETag", "Key"}) {
    auto text = s3::xml_field(body, tag);
    if (body.find("<" + std::string(tag) + ">") == std::string_view::npos) FUZZ_CHECK(text.empty());
    std::string element = "<x><" + std::string(tag) + ">" + s3::xml_escape(text) + "</" + std::string(tag) + ">";
    FUZZ_CHECK(s3::xml_field(element, tag) == text);
  }
}

// A refusal's class is the status's, its message is ours plus at most a well-formed S3 code.
void check_refusal(unsigned status, std::string_view body) {
  auto code = s3::error_code(body);
  FUZZ_CHECK(code.size() <= 64);
  for (char c : code) FUZZ_CHECK(code_char(c));
  auto error = s3::refusal("PUT some/key", status, body);
  Errc expected = status == 404 ? Errc::not_found : status >= 500 ? Errc::unavailable : Errc::internal;
  FUZZ_CHECK(error.code == expected);
  FUZZ_CHECK(error.context == "S3 answered " + std::to_string(status) + (code.empty() ? "" : " " + code) +
                                  " to PUT some/key");
  auto failure = s3::completion_failure(body);
  FUZZ_CHECK(failure.has_value() == (body.find("<Error>") != std::string_view::npos));
  if (failure) FUZZ_CHECK(failure->code == Errc::unavailable && printable(failure->context) && failure->context.size() < 128);
}

// A usable ETag, sent back in CompleteMultipartUpload's body, reads back as itself.
void check_etag(std::string_view etag) {
  if (!s3::usable_etag(etag)) return;
  FUZZ_CHECK(!etag.empty() && etag.size() <= 1024 && printable(etag));
  std::vector<std::string> etags{std::string(etag), "\"second\""};
  auto body = s3::complete_upload_body(etags);
  FUZZ_CHECK(s3::xml_field(body, "ETag") == etag);
  FUZZ_CHECK(s3::xml_field(body, "PartNumber") == "1");
}

// An accepted record is canonical: it renders back byte for byte.
void check_record(std::string_view body) {
  auto record = s3::parse_blob_record(body);
  if (!record) return;
  FUZZ_CHECK(record->sha256.size() == 64);
  FUZZ_CHECK(s3::render_blob_record(*record) == body);
  FUZZ_CHECK(s3::parse_blob_record(s3::render_blob_record(*record)) == record);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  std::string_view rest(reinterpret_cast<char const*>(data), size);
  auto etag = outboard::fuzz::take_line(rest);
  auto status_line = outboard::fuzz::take_line(rest);
  unsigned status = 0;
  std::from_chars(status_line.data(), status_line.data() + status_line.size(), status);
  check_etag(etag);
  check_fields(rest);
  check_refusal(status, rest);
  check_record(rest);
  check_record(etag);  // a record object is one line: the first line reaches the parser whole
  return 0;
}
