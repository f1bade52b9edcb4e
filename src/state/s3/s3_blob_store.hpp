#pragma once
// s3://bucket/prefix?endpoint=http://host:port&region=...: uploads in S3-compatible object
// storage (docs/STATE.md), SigV4-signed through OpenSSL. Credentials from the environment or a
// file, never the URL or argv.
//
// Layout under PREFIX, for a blob ID: the bytes in object ID, then its record in ID.sha256 (body
// "<sha256 hex> <size>"). The record is written last, so it is the commit point: a blob without
// one is not found. Small blobs are one PutObject; larger ones a multipart upload streamed part
// by part as writes fill options.part_size.
#include <cstdint>
#include <memory>

#include "state/blob/blob_store.hpp"
#include "state/s3/s3_config.hpp"
#include "state/store_url.hpp"

namespace outboard::state {

// Parses url.raw (s3::parse_s3_url) and reads credentials from the environment
// (s3::s3_credentials). Throws std::invalid_argument with the reason, never a secret.
std::unique_ptr<BlobStore> open_s3_blob_store(StoreUrl const& url);

// A BlobStore with ranged reads, which S3 serves without sending the whole object. Its writers
// must not outlive it; destroying it waits for requests in flight (aborts of dropped writers).
class S3BlobStore : public BlobStore {
 public:
  // `length` bytes from `offset` (fewer at the end of the blob). A range is not checked against
  // the blob's sha256 (only a whole read can be); Errc::invalid for an offset past the end.
  virtual Async<std::string> get_range(std::string id, std::uint64_t offset, std::uint64_t length) = 0;
};

// For tests and embedding: any part size (S3 itself refuses parts under 5 MiB but the last).
std::unique_ptr<S3BlobStore> open_s3_blob_store(s3::S3Options options);

}  // namespace outboard::state
