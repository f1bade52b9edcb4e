// fuzz-link: outboard_core
// fuzz-sources: src/runtime/cookie_signer.cpp
// The signed session cookie (runtime::CookieSigner): verify() accepts exactly what sign()
// produced with one of its keys, and nothing else.
// Input: raw bytes, used as a cookie value to verify, as an id to sign, and as a key to decode.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "runtime/cookie_signer.hpp"

namespace {

using outboard::runtime::CookieSigner;

std::string const kOldKey(32, 'o');
std::string const kNewKey = "0123456789abcdef0123456789abcdef-new";

struct Signers {
  CookieSigner old_only{{kOldKey}};
  CookieSigner rotated{{kNewKey, kOldKey}};  // signs with the new key, still accepts the old
  CookieSigner new_only{{kNewKey}};
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  static Signers const s;  // keys are constants; built once, read only
  std::string_view input(reinterpret_cast<char const*>(data), size);

  // Anything that verifies is, byte for byte, what a key of that signer signs for that id: the
  // MAC is deterministic, so there is exactly one accepted value per id and key.
  if (auto id = s.old_only.verify(input)) FUZZ_CHECK(s.old_only.sign(*id) == input);
  if (auto id = s.rotated.verify(input)) {
    FUZZ_CHECK(s.rotated.sign(*id) == input || s.old_only.sign(*id) == input);
  }

  // Signing then verifying gives the id back (ids are never empty: "<id>.<mac>").
  if (input.empty()) return 0;
  std::string signed_old = s.old_only.sign(input);
  auto back = s.old_only.verify(signed_old);
  FUZZ_CHECK(back && *back == input);
  // Rotation: the old key's cookies stay valid with the new key in front; a signer without the
  // old key refuses them.
  back = s.rotated.verify(signed_old);
  FUZZ_CHECK(back && *back == input);
  FUZZ_CHECK(!s.new_only.verify(signed_old));
  FUZZ_CHECK(!s.old_only.verify(s.rotated.sign(input)));

  // Any one byte changed, or the value cut short, no longer verifies as this id. (It could only
  // verify at all by being another id's exact signature, which the first rule checks.)
  std::string tampered = signed_old;
  std::size_t at = data[0] % tampered.size();
  tampered[at] = static_cast<char>(tampered[at] ^ (data[size - 1] | 1));
  for (std::string_view changed : {std::string_view(tampered),
                                   std::string_view(signed_old).substr(0, signed_old.size() - 1),
                                   std::string_view(signed_old).substr(0, at)}) {
    auto id = s.old_only.verify(changed);
    FUZZ_CHECK(!id || (*id != input && s.old_only.sign(*id) == changed));
  }

  // A configured key: whatever decodes is long enough to sign with.
  if (auto key = CookieSigner::decode_key(input)) FUZZ_CHECK(key->size() >= CookieSigner::kMinKeyBytes);
  return 0;
}
