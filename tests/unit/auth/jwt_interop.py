#!/usr/bin/python3
"""The independent side of JwtInterop (jwt_interop_test.cpp): Debian's python3-jwt (PyJWT).

Usage: jwt_interop.py DIR. Reads DIR/plan.json:
  {"iss", "aud", "keys": [{"alg", "kid", "private", "public", "outboard_token"}]}
verifies each outboard_token with the key's public file (PyJWT's own strict checks: the one alg,
exp, iss, aud), mints one token per key with the private file, and writes DIR/result.json:
  {"verified": {alg: claims or "error: ..."}, "minted": {alg: token}}.
"""
import base64
import json
import pathlib
import sys
import time

import jwt  # python3-jwt, installed by scripts/setup.sh


def key_text(path, alg):
    text = pathlib.Path(path).read_text().strip()
    if alg == "HS256":  # outboard's secret files hold base64url without padding
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    return text.encode()


def main(directory):
    plan = json.loads((directory / "plan.json").read_text())
    verified, minted = {}, {}
    now = int(time.time())
    for key in plan["keys"]:
        alg = key["alg"]
        try:
            verified[alg] = jwt.decode(
                key["outboard_token"], key_text(key["public"], alg), algorithms=[alg],
                audience=plan["aud"], issuer=plan["iss"],
                options={"require": ["exp", "iss", "aud"]})
        except jwt.PyJWTError as e:
            verified[alg] = "error: %s: %s" % (type(e).__name__, e)
        claims = {"iss": plan["iss"], "aud": plan["aud"], "sub": "py-" + alg, "iat": now,
                  "nbf": now, "exp": now + 900, "jti": "py-1"}
        minted[alg] = jwt.encode(claims, key_text(key["private"], alg), algorithm=alg,
                                 headers={"kid": key["kid"]})
    (directory / "result.json").write_text(json.dumps({"verified": verified, "minted": minted}))


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1]))
