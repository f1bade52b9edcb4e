#include "jobs_settings.hpp"

namespace outboard::app {

void declare_jobs(core::Settings& settings, JobsSettings& values) { jobs::declare_jobs(settings, values); }

std::optional<jobs::JobsConfig> to_jobs_config(JobsSettings const& values) {
  auto config = jobs::to_jobs_config(values);
  if (!config.enabled) return std::nullopt;
  return config;
}

}  // namespace outboard::app
