// Whether this build runs under AddressSanitizer, in GCC's and Clang's ways of saying so: code
// that ASan cannot follow (mapped files, malloc tuning) steps aside under it.
#pragma once

namespace sori {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif
#else
inline constexpr bool kAddressSanitizer = false;
#endif

}  // namespace sori
