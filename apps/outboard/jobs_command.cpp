#include "jobs_command.hpp"
