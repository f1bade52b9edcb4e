#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/this_coro.hpp>
#include <openssl/evp.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "core/offload.hpp"
#include "core/random.hpp"
#include "state/blob/blob_store.hpp"
#include "state/store_url.hpp"

namespace outboard::state {
namespace asio = boost::asio;

Async<BlobInfo> BlobStore::put(std::string bytes) {
  auto writer = begin();
  if (!writer) co_return writer.error();
  if (auto r = co_await (*writer)->write(std::move(bytes)); !r) co_return r.error();
  co_return co_await (*writer)->commit();
}

namespace {

// On-disk layout of one blob: a fixed header, then the bytes.
//   "OBB1" | sha256 (32 raw bytes) | size (8 bytes, little endian) | data
constexpr std::size_t kHeaderSize = 4 + 32 + 8;
constexpr char kMagic[4] = {'O', 'B', 'B', '1'};

Error io_error(std::string const& what, std::filesystem::path const& path) {
  return core::make_error(core::Errc::unavailable,
                          what + " " + path.string() + ": " + std::strerror(errno));
}

bool write_all(int fd, char const* data, std::size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

using core::offload;

class FileBlobWriter final : public BlobWriter {
 public:
  FileBlobWriter(asio::thread_pool& pool, std::filesystem::path dir)
      : pool_(pool), dir_(std::move(dir)), ctx_(EVP_MD_CTX_new()) {
    EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr);
  }
  ~FileBlobWriter() override {
    EVP_MD_CTX_free(ctx_);
    if (fd_ >= 0) ::close(fd_);
    if (!committed_ && !temp_.empty()) ::unlink(temp_.c_str());
  }

  Async<void> write(std::string chunk) override {
    auto work = [this, chunk = std::move(chunk)]() -> Result<void> {
      if (auto r = open_temp(); !r) return r;
      EVP_DigestUpdate(ctx_, chunk.data(), chunk.size());
      size_ += chunk.size();
      if (!write_all(fd_, chunk.data(), chunk.size())) return io_error("cannot write", temp_);
      return {};
    };
    co_return co_await offload(pool_, std::move(work));  // named lambda: see offload.hpp
  }

  Async<BlobInfo> commit() override {
    co_return co_await offload(pool_, [this]() -> Result<BlobInfo> {
      if (auto r = open_temp(); !r) return r.error();
      std::array<unsigned char, 32> digest{};
      unsigned len = 0;
      EVP_DigestFinal_ex(ctx_, digest.data(), &len);
      std::array<char, kHeaderSize> header{};
      std::memcpy(header.data(), kMagic, 4);
      std::memcpy(header.data() + 4, digest.data(), 32);
      for (int i = 0; i < 8; ++i) header[36 + i] = static_cast<char>((size_ >> (8 * i)) & 0xFF);
      if (::pwrite(fd_, header.data(), header.size(), 0) != static_cast<ssize_t>(header.size()))
        return io_error("cannot write", temp_);
      if (::fsync(fd_) != 0) return io_error("cannot fsync", temp_);
      ::close(fd_);
      fd_ = -1;
      BlobInfo info;
      info.id = core::random_token(18);
      info.sha256 = core::hex_encode(std::string_view(reinterpret_cast<char*>(digest.data()), 32));
      info.size = size_;
      auto final_path = dir_ / info.id;
      if (::rename(temp_.c_str(), final_path.c_str()) != 0) return io_error("cannot rename", temp_);
      // The rename is durable only once the directory entry is on disk.
      int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY);
      if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
      }
      committed_ = true;
      return info;
    });
  }

 private:
  Result<void> open_temp() {
    if (fd_ >= 0) return {};
    temp_ = dir_ / (".tmp-" + core::random_token(12));
    fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd_ < 0) return io_error("cannot create", temp_);
    std::array<char, kHeaderSize> placeholder{};
    if (!write_all(fd_, placeholder.data(), placeholder.size())) return io_error("cannot write", temp_);
    return {};
  }

  asio::thread_pool& pool_;
  std::filesystem::path dir_;
  EVP_MD_CTX* ctx_;
  std::filesystem::path temp_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
  bool committed_ = false;
};

bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  std::string scratch;
  return core::base64url_decode(id, scratch);  // only [A-Za-z0-9_-]: no path tricks
}

class FileBlobStore final : public BlobStore {
 public:
  FileBlobStore(std::filesystem::path dir, int threads) : dir_(std::move(dir)), pool_(threads) {}
  ~FileBlobStore() override { pool_.join(); }

  Result<std::unique_ptr<BlobWriter>> begin() override {
    return std::unique_ptr<BlobWriter>(std::make_unique<FileBlobWriter>(pool_, dir_));
  }

  Async<std::string> get(std::string id) override {
    if (!valid_id(id)) co_return core::make_error(core::Errc::not_found, "no blob '" + id + "'");
    auto work = [this, id = std::move(id)]() -> Result<std::string> { return read(id); };
    co_return co_await offload(pool_, std::move(work));
  }

 private:
  Result<std::string> read(std::string const& id) const {
    auto path = dir_ / id;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return core::make_error(core::Errc::not_found, "no blob '" + id + "'");
      return io_error("cannot open", path);
    }
    std::string content;
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        ::close(fd);
        return io_error("cannot read", path);
      }
      if (n == 0) break;
      content.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    if (content.size() < kHeaderSize || std::memcmp(content.data(), kMagic, 4) != 0)
      return core::make_error(core::Errc::internal, "blob '" + id + "' has a damaged header");
    std::uint64_t size = 0;
    for (int i = 0; i < 8; ++i) size |= std::uint64_t(static_cast<unsigned char>(content[36 + i])) << (8 * i);
    std::string data = content.substr(kHeaderSize);
    unsigned char digest[32];
    unsigned len = 0;
    EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
    if (size != data.size() || std::memcmp(digest, content.data() + 4, 32) != 0)
      return core::make_error(core::Errc::internal, "blob '" + id + "' does not match its sha256");
    return data;
  }

  std::filesystem::path dir_;
  mutable asio::thread_pool pool_;
};

}  // namespace

std::unique_ptr<BlobStore> open_file_blob_store(std::string const& directory, int threads) {
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  if (ec) throw std::runtime_error("cannot create blob directory " + directory + ": " + ec.message());
  return std::make_unique<FileBlobStore>(directory, threads);
}

}  // namespace outboard::state
