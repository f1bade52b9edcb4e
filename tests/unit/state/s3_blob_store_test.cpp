// The blob store cases that apply to s3://, against npm s3rver (a stand-in for S3, started once
// for the suite): round trips, multipart upload streamed part by part, abandoned writers, unknown
// ids, ranged reads, corruption and an unreachable endpoint.
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <filesystem>

#include "core/random.hpp"
#include "state/s3/s3_blob_store.hpp"
#include "state/s3/s3_client.hpp"
#include "support/run_coro.hpp"
#include "s3_test_env.hpp"

namespace outboard::state {
namespace {

using testing::run_coro;

// A loopback port nobody listens on: bound by the kernel's choice, then released.
std::uint16_t closed_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::address_v4::loopback(), 0});
  return acceptor.local_endpoint().port();
}

class S3BlobStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = testing::start_s3_server(); }
  static void TearDownTestSuite() { server_.reset(); }
  void SetUp() override { OUTBOARD_REQUIRE_S3_SERVER(server_); }

  // Every object key under the options' prefix, through ListObjectsV2.
  std::vector<std::string> keys_under(s3::S3Options const& options) {
    s3::S3Client client(options);
    s3::S3Request list{"GET", "", {{"list-type", "2"}, {"prefix", options.prefix}}, {}, {}};
    auto answer = run_coro(io_, client.send(std::move(list)));
    EXPECT_TRUE(answer) << answer.error().describe();
    std::vector<std::string> keys;
    if (!answer) return keys;
    for (std::string body = answer->body;;) {
      auto key = s3::xml_field(body, "Key");
      if (key.empty()) break;
      keys.push_back(key);
      body = body.substr(body.find("</Key>") + 6);
    }
    return keys;
  }

  // Parts s3rver holds for multipart uploads not completed (s3rver ignores AbortMultipartUpload).
  static std::size_t parts_in_flight() {
    std::size_t parts = 0;
    if (!std::filesystem::exists(server_->uploads_dir())) return 0;
    for (auto const& entry : std::filesystem::recursive_directory_iterator(server_->uploads_dir())) {
      if (entry.is_regular_file() && entry.path().filename() == "1") ++parts;
    }
    return parts;
  }

  static inline std::unique_ptr<testing::S3Server> server_;
  boost::asio::io_context io_;
};

TEST_F(S3BlobStoreTest, SmallBlobsRoundTripAcrossStoreInstances) {
  auto options = testing::s3_options(*server_);
  auto writer_side = open_s3_blob_store(options);
  auto reader_side = open_s3_blob_store(options);
  std::string bytes = core::random_bytes(300'000);
  auto info = run_coro(io_, writer_side->put(bytes));
  ASSERT_TRUE(info) << info.error().describe();
  EXPECT_EQ(info->size, bytes.size());
  auto back = run_coro(io_, reader_side->get(info->id));
  ASSERT_TRUE(back) << back.error().describe();
  EXPECT_EQ(*back, bytes);

  auto op = [&]() -> Async<BlobInfo> {  // chunked writes hash the whole
    auto w = writer_side->begin();
    if (!w) co_return w.error();
    if (auto r = co_await (*w)->write("hello "); !r) co_return r.error();
    if (auto r = co_await (*w)->write("world"); !r) co_return r.error();
    co_return co_await (*w)->commit();
  };
  auto chunked = run_coro(io_, op());
  ASSERT_TRUE(chunked) << chunked.error().describe();
  EXPECT_EQ(chunked->sha256, "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9");
}

TEST_F(S3BlobStoreTest, MultipartUploadOfABlobLargerThanThePartSizeReadsBackIdentical) {
  constexpr std::size_t kPart = 64 * 1024;
  auto options = testing::s3_options(*server_, kPart);
  auto store = open_s3_blob_store(options);
  std::string bytes = core::random_bytes(3 * kPart + 12'345);  // three full parts and a short last one
  auto op = [&]() -> Async<BlobInfo> {
    auto w = store->begin();
    if (!w) co_return w.error();
    for (std::size_t at = 0; at < bytes.size(); at += 50'000) {  // chunks that straddle part borders
      if (auto r = co_await (*w)->write(bytes.substr(at, 50'000)); !r) co_return r.error();
    }
    co_return co_await (*w)->commit();
  };
  auto info = run_coro(io_, op());
  ASSERT_TRUE(info) << info.error().describe();
  EXPECT_EQ(info->size, bytes.size());
  EXPECT_EQ(info->sha256, s3::sha256_hex(bytes));
  auto back = run_coro(io_, store->get(info->id));
  ASSERT_TRUE(back) << back.error().describe();
  EXPECT_TRUE(*back == bytes) << "multipart blob differs from what was written";
  EXPECT_EQ(keys_under(options), (std::vector<std::string>{options.prefix + info->id, options.prefix + info->id + ".sha256"}));
}

TEST_F(S3BlobStoreTest, AbandonedWriterLeavesNothing) {
  constexpr std::size_t kPart = 64 * 1024;
  auto options = testing::s3_options(*server_, kPart);
  {
    auto store = open_s3_blob_store(options);
    auto small = store->begin();
    ASSERT_TRUE(small);
    ASSERT_TRUE(run_coro(io_, (*small)->write("partial")));
    auto large = store->begin();
    ASSERT_TRUE(large);
    auto before = parts_in_flight();
    auto r = run_coro(io_, (*large)->write(core::random_bytes(kPart + 10)));
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(parts_in_flight(), before + 1) << "a full part is uploaded as soon as it fills";
  }  // writers dropped, then the store, which waits for the abort it posted
  EXPECT_TRUE(keys_under(options).empty());
}

TEST_F(S3BlobStoreTest, UnknownAndHostileIdsAreNotFound) {
  auto store = open_s3_blob_store(testing::s3_options(*server_));
  for (std::string const& id : std::vector<std::string>{core::random_token(18), "nope", "../etc/passwd", "", "a/b", "x.sha256"}) {
    auto r = run_coro(io_, store->get(id));
    ASSERT_FALSE(r) << id;
    EXPECT_EQ(r.error().code, core::Errc::not_found) << id << ": " << r.error().describe();
  }
}

TEST_F(S3BlobStoreTest, RangedReadsReturnTheAskedBytes) {
  auto store = open_s3_blob_store(testing::s3_options(*server_));
  std::string bytes = core::random_bytes(10'000);
  auto info = run_coro(io_, store->put(bytes));
  ASSERT_TRUE(info) << info.error().describe();
  auto middle = run_coro(io_, store->get_range(info->id, 1'000, 2'500));
  ASSERT_TRUE(middle) << middle.error().describe();
  EXPECT_TRUE(*middle == bytes.substr(1'000, 2'500));
  auto tail = run_coro(io_, store->get_range(info->id, 9'990, 100));  // fewer at the end
  ASSERT_TRUE(tail) << tail.error().describe();
  EXPECT_TRUE(*tail == bytes.substr(9'990));
  auto past = run_coro(io_, store->get_range(info->id, 10'001, 1));
  ASSERT_FALSE(past);
  EXPECT_EQ(past.error().code, core::Errc::invalid);
  auto unknown = run_coro(io_, store->get_range("nope", 0, 1));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, core::Errc::not_found);
}

TEST_F(S3BlobStoreTest, CorruptionIsReported) {
  auto options = testing::s3_options(*server_);
  auto store = open_s3_blob_store(options);
  auto info = run_coro(io_, store->put("precious bytes"));
  ASSERT_TRUE(info) << info.error().describe();
  s3::S3Client client(options);
  s3::S3Request overwrite{"PUT", options.prefix + info->id, {}, {}, "precious bytez"};
  ASSERT_TRUE(run_coro(io_, client.send(std::move(overwrite))));
  auto back = run_coro(io_, store->get(info->id));
  ASSERT_FALSE(back);
  EXPECT_EQ(back.error().code, core::Errc::internal);
}

// No s3rver for these: the endpoint is a port nobody serves.
s3::S3Options offline_options() {
  s3::S3Options options;
  options.bucket = "outboard-test";
  options.host = "127.0.0.1";
  options.keys = {"AKID", "secret", ""};
  return options;
}

TEST(S3BlobStoreOffline, UnreachableEndpointIsUnavailable) {
  auto options = offline_options();
  options.port = closed_port();
  auto store = open_s3_blob_store(options);
  boost::asio::io_context io;
  auto put = run_coro(io, store->put("bytes"));
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().code, core::Errc::unavailable) << put.error().describe();
  auto get = run_coro(io, store->get(core::random_token(18)));
  ASSERT_FALSE(get);
  EXPECT_EQ(get.error().code, core::Errc::unavailable) << get.error().describe();
}

TEST(S3BlobStoreOffline, SilentEndpointIsATimeout) {
  boost::asio::io_context accepting;
  boost::asio::ip::tcp::acceptor silent(accepting, {boost::asio::ip::address_v4::loopback(), 0});  // never accepts
  auto options = offline_options();
  options.port = silent.local_endpoint().port();
  options.timeout = std::chrono::milliseconds(300);
  auto store = open_s3_blob_store(options);
  boost::asio::io_context io;
  auto get = run_coro(io, store->get(core::random_token(18)));
  ASSERT_FALSE(get);
  EXPECT_EQ(get.error().code, core::Errc::timeout) << get.error().describe();
}

}  // namespace
}  // namespace outboard::state
