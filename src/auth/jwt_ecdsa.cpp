#include "auth/jwt_ecdsa.hpp"

#include <openssl/bn.h>
#include <openssl/ecdsa.h>

#include <memory>

namespace outboard::auth {

namespace {
constexpr int kHalf = static_cast<int>(kEs256SignatureBytes / 2);
using SigPtr = std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)>;
}  // namespace

std::optional<std::string> ecdsa_der_to_raw(std::string_view der) {
  auto const* in = reinterpret_cast<unsigned char const*>(der.data());
  SigPtr sig(d2i_ECDSA_SIG(nullptr, &in, static_cast<long>(der.size())), &ECDSA_SIG_free);
  if (!sig || in != reinterpret_cast<unsigned char const*>(der.data()) + der.size()) return std::nullopt;
  BIGNUM const* r = nullptr;
  BIGNUM const* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string raw(kEs256SignatureBytes, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(r, out, kHalf) != kHalf || BN_bn2binpad(s, out + kHalf, kHalf) != kHalf) return std::nullopt;
  return raw;
}

std::optional<std::string> ecdsa_raw_to_der(std::string_view raw) {
  if (raw.size() != kEs256SignatureBytes) return std::nullopt;
  auto const* in = reinterpret_cast<unsigned char const*>(raw.data());
  SigPtr sig(ECDSA_SIG_new(), &ECDSA_SIG_free);
  BIGNUM* r = BN_bin2bn(in, kHalf, nullptr);
  BIGNUM* s = BN_bin2bn(in + kHalf, kHalf, nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {  // set0 owns r and s only on success
    BN_free(r);
    BN_free(s);
    return std::nullopt;
  }
  int size = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (size <= 0) return std::nullopt;
  std::string der(static_cast<std::size_t>(size), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_ECDSA_SIG(sig.get(), &out) != size) return std::nullopt;
  return der;
}

}  // namespace outboard::auth
