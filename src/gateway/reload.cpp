#include "gateway/reload.hpp"

#include <algorithm>
#include <set>

namespace outboard::gateway {
namespace {

BackendSpec const* find_spec(std::vector<BackendSpec> const& specs, std::string const& id) {
  auto it = std::find_if(specs.begin(), specs.end(), [&](auto const& s) { return s.first.id() == id; });
  return it == specs.end() ? nullptr : &*it;
}

}  // namespace

ReloadPlan plan_reload(std::vector<BackendSpec> const& old_file, std::vector<BackendSpec> const& new_file) {
  ReloadPlan plan;
  for (auto const& spec : new_file) {
    auto const* before = find_spec(old_file, spec.first.id());
    if (!before) plan.add.push_back(spec);
    else if (before->second != spec.second) plan.reweigh.push_back(spec);
  }
  for (auto const& spec : old_file) {
    if (!find_spec(new_file, spec.first.id())) plan.drop.push_back(spec.first.id());
  }
  return plan;
}

ReloadOutcome apply_reload(BackendPool& pool, ReloadPlan const& plan, std::vector<BackendSpec> const& new_file) {
  ReloadOutcome out;
  pool.edit([&](std::vector<std::shared_ptr<Backend>>& members, std::int64_t now_ms) {
    auto member = [&](std::string const& id) {
      return std::find_if(members.begin(), members.end(), [&](auto const& b) { return b->id() == id; });
    };
    for (auto const& id : plan.drop) {
      auto it = member(id);
      if (it == members.end()) continue;  // the admin API removed it already
      members.erase(it);
      out.dropped.push_back(id);
    }
    for (auto const& [address, weight] : plan.add) {
      auto it = member(address.id());
      if (it == members.end()) {
        members.push_back(std::make_shared<Backend>(address, weight, now_ms));
        out.added.push_back(address.id());
      } else {
        (*it)->set_weight(weight);
        out.adopted.push_back(address.id());
      }
    }
    for (auto const& [address, weight] : plan.reweigh) {
      auto it = member(address.id());
      if (it == members.end()) continue;  // removed through the API: stays removed
      out.reweighed.push_back({address.id(), (*it)->weight(), weight});
      (*it)->set_weight(weight);
    }
    std::set<std::string> planned;
    for (auto const& [address, weight] : plan.add) planned.insert(address.id());
    for (auto const& b : members) {
      if (!find_spec(new_file, b->id())) out.kept_from_admin.push_back(b->id());
    }
    for (auto const& [address, weight] : new_file) {
      if (!planned.count(address.id()) && member(address.id()) == members.end()) out.not_restored.push_back(address.id());
    }
  });
  return out;
}

}  // namespace outboard::gateway
