// Text placed in HTML or SVG: every name, path, transcript and config line a report shows goes
// through escape_markup, so a transcript holding "<script>" is shown, never run.
#pragma once

#include <string>
#include <string_view>

namespace sori {

// Escapes & < > " ' (safe in element content and in quoted attribute values); control characters
// XML does not allow become U+FFFD.
std::string escape_markup(std::string_view text);

}  // namespace sori
