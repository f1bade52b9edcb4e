#pragma once
// Blobs (uploads) live in a blob store shared by every instance, never on one server's disk.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "state/store.hpp"

namespace outboard::state {

struct BlobInfo {
  std::string id;      // opaque, URL-safe
  std::string sha256;  // hex
  std::uint64_t size = 0;
};

// Receives a blob piece by piece, so an upload is never held whole in memory. Nothing is visible
// to readers until commit(); a writer destroyed without commit leaves nothing behind.
class BlobWriter {
 public:
  virtual ~BlobWriter() = default;
  virtual Async<void> write(std::string chunk) = 0;
  virtual Async<BlobInfo> commit() = 0;
};

class BlobStore {
 public:
  virtual ~BlobStore() = default;
  virtual Result<std::unique_ptr<BlobWriter>> begin() = 0;
  // The whole blob; Errc::not_found for an unknown id, Errc::internal if its bytes no longer
  // match the hash recorded at commit (corruption is reported, never served).
  virtual Async<std::string> get(std::string id) = 0;

  // Convenience: begin, one write, commit.
  Async<BlobInfo> put(std::string bytes);
};

// file:///dir: a directory shared by the instances (local disk or a network mount). Written via
// temp file + fsync + rename; file I/O runs on the store's own threads, never an event loop.
// Throws std::runtime_error naming the directory if it cannot be created.
std::unique_ptr<BlobStore> open_file_blob_store(std::string const& directory, int threads = 2);

// Opens a blob store by URL (file://DIR or s3://BUCKET/PREFIX?endpoint=http://HOST:PORT, see
// docs/STATE.md); throws std::invalid_argument with the reason for anything else.
std::unique_ptr<BlobStore> open_blob_store(std::string_view url);

}  // namespace outboard::state
