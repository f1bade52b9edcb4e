#include <stdexcept>

#include "state/blob/blob_store.hpp"
#include "state/s3/s3_blob_store.hpp"
#include "state/store_url.hpp"

namespace outboard::state {

std::unique_ptr<BlobStore> open_blob_store(std::string_view url) {
  auto parsed = parse_store_url(url);
  if (!parsed) throw std::invalid_argument(parsed.error().context);
  if (parsed->scheme == "file") return open_file_blob_store(parsed->path);
  if (parsed->scheme == "s3") return open_s3_blob_store(*parsed);
  throw std::invalid_argument("blob store URL '" + redact_store_url(url) + "': expected file://DIR or s3://BUCKET/PREFIX");
}

}  // namespace outboard::state
