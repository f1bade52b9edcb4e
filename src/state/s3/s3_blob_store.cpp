#include "state/s3/s3_blob_store.hpp"

#include <openssl/evp.h>

#include <cstdlib>
#include <stdexcept>
#include <vector>

#include "core/random.hpp"
#include "state/s3/s3_client.hpp"
#include "state/s3/s3_response.hpp"

namespace outboard::state {
namespace {

using s3::S3Client;
using s3::S3Request;

std::string record_key(std::string const& prefix, std::string const& id) { return prefix + id + ".sha256"; }

// The upload's bytes streamed into S3: buffered up to one part, each full part sent as it fills.
class S3BlobWriter final : public BlobWriter {
 public:
  explicit S3BlobWriter(S3Client& client)
      : client_(client), id_(core::random_token(18)), key_(client.options().prefix + id_), ctx_(EVP_MD_CTX_new()) {
    EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr);
  }
  ~S3BlobWriter() override {
    EVP_MD_CTX_free(ctx_);
    if (committed_) return;
    // A commit that failed after the bytes landed (its record missing) leaves an object no reader
    // can find: remove it. S3 keeps an abandoned upload's parts (and bills them) until aborted.
    if (data_written_) client_.send_detached({"DELETE", key_, {}, {}, {}});
    else if (!upload_id_.empty()) client_.send_detached({"DELETE", key_, {{"uploadId", upload_id_}}, {}, {}});
  }

  Async<void> write(std::string chunk) override {
    EVP_DigestUpdate(ctx_, chunk.data(), chunk.size());
    size_ += chunk.size();
    buffer_ += chunk;
    while (buffer_.size() >= client_.options().part_size) {
      std::string part = buffer_.substr(0, client_.options().part_size);
      buffer_.erase(0, part.size());
      if (auto r = co_await upload_part(std::move(part)); !r) co_return r.error();
    }
    co_return Result<void>{};
  }

  Async<BlobInfo> commit() override {
    BlobInfo info{id_, finish_hash(), size_};
    if (upload_id_.empty()) {
      S3Request put{"PUT", key_, {}, {}, std::move(buffer_)};
      if (auto r = co_await client_.send(std::move(put)); !r) co_return r.error();
    } else {
      if (!buffer_.empty()) {
        if (auto r = co_await upload_part(std::move(buffer_)); !r) co_return r.error();
      }
      if (auto r = co_await complete_upload(); !r) co_return r.error();
    }
    data_written_ = true;
    S3Request record{"PUT", record_key(client_.options().prefix, id_), {}, {}, s3::render_blob_record({info.sha256, size_})};
    if (auto r = co_await client_.send(std::move(record)); !r) co_return r.error();
    committed_ = true;
    co_return info;
  }

 private:
  std::string finish_hash() {
    unsigned char digest[32];
    unsigned len = 0;
    EVP_DigestFinal_ex(ctx_, digest, &len);
    return core::hex_encode(std::string_view(reinterpret_cast<char*>(digest), len));
  }

  Async<void> upload_part(std::string part) {
    if (upload_id_.empty()) {
      S3Request create{"POST", key_, {{"uploads", ""}}, {}, {}};
      auto created = co_await client_.send(std::move(create));
      if (!created) co_return created.error();
      upload_id_ = s3::xml_field(created->body, "UploadId");
      if (upload_id_.empty()) co_return core::make_error(core::Errc::internal, "S3 CreateMultipartUpload answered no UploadId");
    }
    auto number = std::to_string(etags_.size() + 1);
    S3Request request{"PUT", key_, {{"partNumber", number}, {"uploadId", upload_id_}}, {}, std::move(part)};
    auto sent = co_await client_.send(std::move(request));
    if (!sent) co_return sent.error();
    if (!s3::usable_etag(sent->etag))
      co_return core::make_error(core::Errc::internal, "S3 UploadPart answered no usable ETag");
    etags_.push_back(sent->etag);
    co_return Result<void>{};
  }

  Async<void> complete_upload() {
    S3Request request{"POST", key_, {{"uploadId", upload_id_}}, {}, s3::complete_upload_body(etags_)};
    auto done = co_await client_.send(std::move(request));
    if (!done) co_return done.error();
    // S3 may answer 200 and report the failure in the body.
    if (auto failure = s3::completion_failure(done->body)) co_return std::move(*failure);
    co_return Result<void>{};
  }

  S3Client& client_;
  std::string id_;
  std::string key_;
  EVP_MD_CTX* ctx_;
  std::string buffer_;
  std::uint64_t size_ = 0;
  std::string upload_id_;
  std::vector<std::string> etags_;
  bool data_written_ = false;  // the object exists (PutObject or CompleteMultipartUpload succeeded)
  bool committed_ = false;     // and so does its record
};

bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  std::string scratch;
  return core::base64url_decode(id, scratch);  // only [A-Za-z0-9_-]: no key tricks
}

class S3BlobStoreImpl final : public S3BlobStore {
 public:
  explicit S3BlobStoreImpl(s3::S3Options options) : client_(std::move(options)) {}

  Result<std::unique_ptr<BlobWriter>> begin() override {
    return std::unique_ptr<BlobWriter>(std::make_unique<S3BlobWriter>(client_));
  }

  Async<std::string> get(std::string id) override {
    auto record = co_await read_record(id);
    if (!record) co_return record.error();
    S3Request request{"GET", client_.options().prefix + id, {}, {}, {}};
    auto object = co_await client_.send(std::move(request));
    if (!object) co_return object.error();
    if (object->body.size() != record->size || s3::sha256_hex(object->body) != record->sha256)
      co_return core::make_error(core::Errc::internal, "blob '" + id + "' does not match its sha256");
    co_return std::move(object->body);
  }

  Async<std::string> get_range(std::string id, std::uint64_t offset, std::uint64_t length) override {
    auto record = co_await read_record(id);
    if (!record) co_return record.error();
    if (offset > record->size || (offset == record->size && length > 0))
      co_return core::make_error(core::Errc::invalid, "offset " + std::to_string(offset) + " is past the end of blob '" + id + "'");
    if (length == 0) co_return std::string();
    auto last = std::min(record->size, offset + length) - 1;
    S3Request request{"GET", client_.options().prefix + id, {},
                      {{"range", "bytes=" + std::to_string(offset) + "-" + std::to_string(last)}}, {}};
    auto object = co_await client_.send(std::move(request));
    if (!object) co_return object.error();
    if (object->body.size() != last - offset + 1)
      co_return core::make_error(core::Errc::internal, "blob '" + id + "' answered a range of the wrong length");
    co_return std::move(object->body);
  }

 private:
  Async<s3::BlobRecord> read_record(std::string const& id) {
    if (!valid_id(id)) co_return core::make_error(core::Errc::not_found, "no blob '" + id + "'");
    S3Request request{"GET", record_key(client_.options().prefix, id), {}, {}, {}};
    auto answer = co_await client_.send(std::move(request));
    if (!answer && answer.error().code == core::Errc::not_found)
      co_return core::make_error(core::Errc::not_found, "no blob '" + id + "'");
    if (!answer) co_return answer.error();
    auto record = s3::parse_blob_record(answer->body);
    if (!record) co_return core::make_error(core::Errc::internal, "blob '" + id + "' has a damaged record");
    co_return std::move(*record);
  }

  S3Client client_;
};

}  // namespace

std::unique_ptr<S3BlobStore> open_s3_blob_store(s3::S3Options options) {
  return std::make_unique<S3BlobStoreImpl>(std::move(options));
}

std::unique_ptr<BlobStore> open_s3_blob_store(StoreUrl const& url) {
  auto options = s3::parse_s3_url(url.raw);
  if (!options) throw std::invalid_argument(options.error().context);
  auto keys = s3::s3_credentials([](char const* name) { return std::getenv(name); });
  if (!keys) throw std::invalid_argument(keys.error().context);
  options->keys = std::move(*keys);
  return open_s3_blob_store(std::move(*options));
}

}  // namespace outboard::state
