#include "jobs_settings.hpp"

namespace outboard::app {

void declare_jobs(core::Settings& settings, JobsSettings& values) { jobs::declare_jobs(settings, values); }

jobs::JobsConfig to_jobs_config(JobsSettings const& values) { return jobs::to_jobs_config(values); }

}  // namespace outboard::app
