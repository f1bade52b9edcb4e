#pragma once
// Randomness for secrets (session ids, keys) comes from OpenSSL's CSPRNG; nothing here is seeded
// by hand, so nothing here is global state.
#include <cstddef>
#include <string>
#include <string_view>

namespace outboard::core {

// n random bytes from RAND_bytes; throws only if the CSPRNG itself fails (unrecoverable).
std::string random_bytes(std::size_t n);

// URL-safe base64 without padding (RFC 4648 section 5): cookie and id friendly.
std::string base64url_encode(std::string_view bytes);
// Returns false on any character outside the alphabet or an impossible length.
bool base64url_decode(std::string_view text, std::string& out);

std::string hex_encode(std::string_view bytes);
bool hex_decode(std::string_view text, std::string& out);

// A random token of `bytes` bytes of entropy, base64url encoded.
inline std::string random_token(std::size_t bytes) { return base64url_encode(random_bytes(bytes)); }

// Compares in time independent of where the inputs differ (for MACs).
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace outboard::core
