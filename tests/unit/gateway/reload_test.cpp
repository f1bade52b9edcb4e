// SIGHUP's rule for the backends (reload.hpp): a reload applies what changed in the file since it
// was last read; what the admin API did survives unless the file changed that backend.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/clock.hpp"
#include "gateway/reload.hpp"

namespace outboard::gateway {
namespace {

BackendSpec spec(std::uint16_t port, std::uint32_t weight = 1) { return {BackendAddress{"127.0.0.1", port}, weight}; }
std::string id(std::uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

std::vector<std::string> ids(BackendPool const& pool) {
  std::vector<std::string> out;
  for (auto const& b : pool.snapshot()->backends) out.push_back(b->id());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(ReloadPlan, AddsDropsAndReweighsOnlyWhatTheFileChanged) {
  auto plan = plan_reload({spec(1), spec(2), spec(3, 2)}, {spec(1), spec(3, 5), spec(4)});
  ASSERT_EQ(plan.add.size(), 1u);
  EXPECT_EQ(plan.add[0].first.id(), id(4));
  EXPECT_EQ(plan.drop, std::vector<std::string>{id(2)});
  ASSERT_EQ(plan.reweigh.size(), 1u);
  EXPECT_EQ(plan.reweigh[0].first.id(), id(3));
  EXPECT_EQ(plan.reweigh[0].second, 5u);
}

TEST(ApplyReload, KeepsAdminAddsAndDropsWhatTheFileRemoved) {
  core::ManualClock clock;
  BackendPool pool(clock);
  std::vector<BackendSpec> file{spec(1), spec(2)};
  pool.replace(file);
  ASSERT_TRUE(pool.add({"127.0.0.1", 9}, 1));  // through the admin API
  pool.find(id(1))->set_draining(true);         // so was this

  std::vector<BackendSpec> next{spec(1), spec(3)};
  auto done = apply_reload(pool, plan_reload(file, next), next);
  EXPECT_EQ(ids(pool), (std::vector<std::string>{id(1), id(3), id(9)}));
  EXPECT_EQ(done.added, std::vector<std::string>{id(3)});
  EXPECT_EQ(done.dropped, std::vector<std::string>{id(2)});
  EXPECT_EQ(done.kept_from_admin, std::vector<std::string>{id(9)});
  EXPECT_TRUE(pool.find(id(1))->draining()) << "a reload undid an admin drain of a backend the file kept";
}

TEST(ApplyReload, AnAdminWeightStaysUnlessTheFileChangesThatWeight) {
  core::ManualClock clock;
  BackendPool pool(clock);
  std::vector<BackendSpec> file{spec(1), spec(2)};
  pool.replace(file);
  pool.find(id(1))->set_weight(7);
  pool.find(id(2))->set_weight(7);

  std::vector<BackendSpec> next{spec(1), spec(2, 3)};
  auto done = apply_reload(pool, plan_reload(file, next), next);
  EXPECT_EQ(pool.find(id(1))->weight(), 7u) << "the file did not change this weight";
  EXPECT_EQ(pool.find(id(2))->weight(), 3u) << "the file changed this weight";
  ASSERT_EQ(done.reweighed.size(), 1u);
  EXPECT_EQ(done.reweighed[0].from, 7u);
  EXPECT_EQ(done.reweighed[0].to, 3u);
}

TEST(ApplyReload, AnAdminRemovalStaysWhileTheFileListsTheBackendUnchanged) {
  core::ManualClock clock;
  BackendPool pool(clock);
  std::vector<BackendSpec> file{spec(1), spec(2)};
  pool.replace(file);
  ASSERT_TRUE(pool.remove(id(2)));  // through the admin API

  auto done = apply_reload(pool, plan_reload(file, file), file);
  EXPECT_EQ(ids(pool), std::vector<std::string>{id(1)});
  EXPECT_EQ(done.not_restored, std::vector<std::string>{id(2)});
}

TEST(ApplyReload, TheFileAdoptsABackendTheAdminApiAdded) {
  core::ManualClock clock;
  BackendPool pool(clock);
  std::vector<BackendSpec> file{spec(1)};
  pool.replace(file);
  ASSERT_TRUE(pool.add({"127.0.0.1", 2}, 1));

  std::vector<BackendSpec> next{spec(1), spec(2, 4)};
  auto done = apply_reload(pool, plan_reload(file, next), next);
  EXPECT_EQ(ids(pool), (std::vector<std::string>{id(1), id(2)}));
  EXPECT_EQ(done.adopted, std::vector<std::string>{id(2)});
  EXPECT_EQ(pool.find(id(2))->weight(), 4u);
  EXPECT_TRUE(done.kept_from_admin.empty());
}

}  // namespace
}  // namespace outboard::gateway
