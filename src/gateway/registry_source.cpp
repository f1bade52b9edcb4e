#include "gateway/registry_source.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace outboard::gateway {

void RegistrySource::apply(registry::View const& view) {
  pool_.edit([&](std::vector<std::shared_ptr<Backend>>& backends, std::int64_t now_ms) {
    std::erase_if(backends, [&](std::shared_ptr<Backend> const& b) {
      bool gone = owned_.contains(b->id()) && !view.members.contains(b->id());
      if (gone) {
        owned_.erase(b->id());
        spdlog::info("registry: backend {} left (revision {})", b->id(), view.revision);
      }
      return gone;
    });
    for (auto const& entry : view.members) {
      // Named, not a structured binding: clang 14 cannot capture one in the lambda below.
      std::string const& id = entry.first;
      registry::Member const& member = entry.second;
      auto it = std::find_if(backends.begin(), backends.end(), [&](auto const& b) { return b->id() == id; });
      bool draining = member.state == registry::MemberState::draining;
      if (it == backends.end()) {
        auto backend = std::make_shared<Backend>(BackendAddress{member.host, member.port}, member.weight, now_ms);
        backend->set_draining(draining);
        backends.push_back(std::move(backend));
        owned_.insert(id);
        spdlog::info("registry: backend {} joined{} (revision {})", id, draining ? " draining" : "", view.revision);
        continue;
      }
      if ((*it)->draining() != draining) {
        spdlog::info("registry: backend {} is {} (revision {})", id, registry::to_string(member.state), view.revision);
      }
      (*it)->set_draining(draining);
      if (owned_.contains(id)) (*it)->set_weight(member.weight);
    }
  });
}

}  // namespace outboard::gateway
