// The file blob store: what one instance writes, another reads byte for byte; corruption is
// reported, never served.
#include <gtest/gtest.h>

#include <fstream>

#include "core/random.hpp"
#include "state/blob/blob_store.hpp"
#include "support/run_coro.hpp"
#include "support/temp_dir.hpp"

namespace outboard::state {
namespace {

using testing::run_coro;

TEST(FileBlobStore, RoundTripsAcrossStoreInstances) {
  testing::TempDir dir;
  boost::asio::io_context io;
  auto writer_side = open_blob_store("file://" + dir.path().string());
  auto reader_side = open_blob_store("file://" + dir.path().string());
  std::string bytes = core::random_bytes(300'000);
  auto info = run_coro(io, writer_side->put(bytes));
  ASSERT_TRUE(info) << info.error().describe();
  EXPECT_EQ(info->size, bytes.size());
  EXPECT_EQ(info->sha256.size(), 64u);
  auto back = run_coro(io, reader_side->get(info->id));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, bytes);
}

TEST(FileBlobStore, ChunkedWritesHashTheWhole) {
  testing::TempDir dir;
  boost::asio::io_context io;
  auto store = open_file_blob_store(dir.path().string());
  auto one = run_coro(io, store->put("hello world"));
  auto op = [&]() -> Async<BlobInfo> {
    auto w = store->begin();
    if (!w) co_return w.error();
    if (auto r = co_await (*w)->write("hello "); !r) co_return r.error();
    if (auto r = co_await (*w)->write("world"); !r) co_return r.error();
    co_return co_await (*w)->commit();
  };
  auto two = run_coro(io, op());
  ASSERT_TRUE(one && two);
  EXPECT_EQ(one->sha256, two->sha256);
  EXPECT_EQ(one->sha256, "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9");
  EXPECT_NE(one->id, two->id);
}

TEST(FileBlobStore, CorruptionIsReported) {
  testing::TempDir dir;
  boost::asio::io_context io;
  auto store = open_file_blob_store(dir.path().string());
  auto info = run_coro(io, store->put("precious bytes"));
  ASSERT_TRUE(info);
  {
    std::fstream f(dir / info->id, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-1, std::ios::end);
    f.put('X');
  }
  auto back = run_coro(io, store->get(info->id));
  ASSERT_FALSE(back);
  EXPECT_EQ(back.error().code, core::Errc::internal);
}

TEST(FileBlobStore, UnknownAndHostileIdsAreNotFound) {
  testing::TempDir dir;
  boost::asio::io_context io;
  auto store = open_file_blob_store(dir.path().string());
  for (std::string id : {"nope", "../etc/passwd", "", "a/b"}) {
    auto r = run_coro(io, store->get(id));
    ASSERT_FALSE(r) << id;
    EXPECT_EQ(r.error().code, core::Errc::not_found) << id;
  }
}

TEST(FileBlobStore, AbandonedWriterLeavesNothing) {
  testing::TempDir dir;
  boost::asio::io_context io;
  auto store = open_file_blob_store(dir.path().string());
  {
    auto w = store->begin();
    ASSERT_TRUE(w);
    auto r = run_coro(io, (*w)->write("partial"));
    ASSERT_TRUE(r);
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

}  // namespace
}  // namespace outboard::state
