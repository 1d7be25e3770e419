// Facts about this process's machine and time, in the forms logs and reports write them.
#pragma once

#include <ctime>
#include <string>

namespace sori {

// gethostname(), or "localhost" when it has none.
std::string host_name();
// "2026-12-03T09:55:59Z" (UTC, ISO 8601, seconds).
std::string utc_timestamp(std::time_t t);

}  // namespace sori
