#include "jobs_settings.hpp"
