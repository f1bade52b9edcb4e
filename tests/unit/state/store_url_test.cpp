#include <gtest/gtest.h>

#include "state/store_url.hpp"

namespace outboard::state {
namespace {

TEST(StoreUrl, ParsesEachScheme) {
  EXPECT_EQ(parse_store_url("memory://")->scheme, "memory");
  EXPECT_EQ(parse_store_url("sqlite:///var/lib/x.db")->path, "/var/lib/x.db");
  EXPECT_EQ(parse_store_url("sqlite://rel/x.db")->path, "rel/x.db");
  auto r = parse_store_url("redis://:secret@127.0.0.1:6380/2");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->host, "127.0.0.1");
  EXPECT_EQ(r->port, 6380);
  EXPECT_EQ(r->database, 2);
  EXPECT_EQ(r->password, "secret");
  EXPECT_EQ(parse_store_url("redis://localhost")->port, 6379);
  EXPECT_EQ(parse_store_url("file:///srv/blobs")->path, "/srv/blobs");
}

TEST(StoreUrl, RejectsWithAReason) {
  EXPECT_FALSE(parse_store_url("nothing"));
  EXPECT_FALSE(parse_store_url("ftp://x"));
  EXPECT_FALSE(parse_store_url("redis://h:99999/0"));
  EXPECT_FALSE(parse_store_url("redis://h:1/x"));
  EXPECT_FALSE(parse_store_url("sqlite://"));
  EXPECT_FALSE(parse_store_url("memory://x"));
  auto r = parse_store_url("ftp://x");
  EXPECT_NE(r.error().context.find("unknown scheme 'ftp'"), std::string::npos);
}

}  // namespace
}  // namespace outboard::state
