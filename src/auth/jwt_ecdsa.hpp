#pragma once
// ES256 signatures travel as JOSE raw r||s (RFC 7518 section 3.4: two 32-byte big-endian numbers),
// while OpenSSL signs and verifies DER ECDSA-Sig-Value. These convert between the two.
#include <optional>
#include <string>
#include <string_view>

namespace outboard::auth {

inline constexpr std::size_t kEs256SignatureBytes = 64;

// nullopt when `der` is not one DER ECDSA signature whose r and s fit in 32 bytes.
std::optional<std::string> ecdsa_der_to_raw(std::string_view der);
// nullopt when `raw` is not exactly 64 bytes.
std::optional<std::string> ecdsa_raw_to_der(std::string_view raw);

}  // namespace outboard::auth
