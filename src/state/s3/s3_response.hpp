#pragma once
// What the S3 client reads from a server's answers: the few XML fields of its small, flat
// bodies, the ETag of an uploaded part, and the blob store's own record objects. Pure functions
// over bytes (fuzzed: tests/fuzz/s3_response_fuzz.cpp); a server's bytes are not trusted.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace outboard::state::s3 {

// The text of the first <Tag>...</Tag> in an S3 XML answer, XML's five predefined entities
// decoded ("" when absent). S3's answers name each field once and carry no attributes on them.
std::string xml_field(std::string_view xml, std::string_view tag);

// `text` as an XML element's content: '&', '<' and '>' escaped, so xml_field reads it back.
std::string xml_escape(std::string_view text);

// S3's error code (<Code>NoSuchKey</Code>) when it is one: 1..64 letters, digits or dots.
// Anything else is dropped ("") so a server's bytes never flow into our error messages or logs.
std::string error_code(std::string_view body);

// The error a non-2xx answer to `request` ("PUT key") becomes: Errc::not_found for 404,
// Errc::unavailable for 5xx, Errc::internal for any other status, S3's code named when valid.
core::Error refusal(std::string_view request, unsigned status, std::string_view body);

// A 200 answer to CompleteMultipartUpload may still report a failure in its body (<Error>): the
// error then, else nothing.
std::optional<core::Error> completion_failure(std::string_view body);

// CompleteMultipartUpload's request body: the parts in order, numbered from 1.
std::string complete_upload_body(std::vector<std::string> const& etags);

// An ETag header we can send back in complete_upload_body: 1..1024 printable ASCII bytes.
bool usable_etag(std::string_view etag);

// The blob store's record object: "<sha256 as 64 lowercase hex> <size in decimal>".
struct BlobRecord {
  std::string sha256;
  std::uint64_t size = 0;
  bool operator==(BlobRecord const&) const = default;
};
std::string render_blob_record(BlobRecord const& record);
// nullopt unless `text` is exactly what render_blob_record writes for some record.
std::optional<BlobRecord> parse_blob_record(std::string_view text);

}  // namespace outboard::state::s3
