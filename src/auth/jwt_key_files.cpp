#include "auth/jwt_key_files.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "auth/jwt_key_pem.hpp"
#include "core/secret_file.hpp"

namespace outboard::auth {

namespace {

[[noreturn]] void fail(std::filesystem::path const& path, std::string const& why) {
  throw std::runtime_error(path.string() + ": " + why);
}

std::string read_public_file(std::filesystem::path const& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A private key or a secret must be readable by its owner only; a public key may be world-readable.
std::string read_key_text(KeyFile const& file) {
  if (file.alg == JwsAlg::hs256) return core::read_secret_file(file.path);
  std::string text = read_public_file(file.path);
  if (text.find("PRIVATE KEY-----") != std::string::npos) return core::read_secret_file(file.path);
  return text;
}

}  // namespace

JwtKey load_key_file(KeyFile const& file) {
  if (file.kid.empty()) fail(file.path, "the key needs a kid");
  std::string text = read_key_text(file);
  auto key = file.alg == JwsAlg::hs256 ? key_from_secret_text(file.kid, text) : key_from_pem(file.kid, file.alg, text);
  if (!key) fail(file.path, key.error().context);
  return std::move(*key);
}

KeySet load_key_set(KeyFile const& signing, std::vector<KeyFile> const& verification_only) {
  JwtKey signing_key = load_key_file(signing);
  if (!signing_key.can_sign()) fail(signing.path, "the signing key file holds a public key, not a private key");
  std::vector<JwtKey> others;
  for (auto const& file : verification_only) others.push_back(load_key_file(file));
  try {
    return KeySet(std::move(signing_key), std::move(others));
  } catch (std::invalid_argument const& e) {
    throw std::runtime_error(std::string("jwt keys: ") + e.what());
  }
}

}  // namespace outboard::auth
