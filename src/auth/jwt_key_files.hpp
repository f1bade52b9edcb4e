#pragma once
// Keys named in config, read at start-up: a file per key, each with its kid and alg. Errors throw
// std::runtime_error naming the file and the reason (never its contents), so a bad key file stops
// start-up with a message the operator can act on.
#include <filesystem>
#include <string>
#include <vector>

#include "auth/jwt_key_set.hpp"

namespace outboard::auth {

struct KeyFile {
  std::string kid;
  JwsAlg alg = JwsAlg::eddsa;
  std::filesystem::path path;  // PEM private or public key; for HS256 the base64url secret
};

// One key. Private keys and HS256 secrets are read as secret files (core::read_secret_file): the
// file must not be accessible to group or others.
JwtKey load_key_file(KeyFile const& file);
// The signing key (its file must hold a private key or secret) and the verification-only keys.
KeySet load_key_set(KeyFile const& signing, std::vector<KeyFile> const& verification_only);

}  // namespace outboard::auth
