"""The independent side of tests/unit/state/s3_interop_test.cpp: Debian's python3-boto3/botocore.

    /usr/bin/python3 s3_interop.py sign DIR      reads DIR/sign.json, writes DIR/botocore.json
    /usr/bin/python3 s3_interop.py exchange DIR  reads DIR/exchange.json, writes DIR/boto3.json

sign: for each request, botocore's S3SigV4Auth (the signer boto3 uses for S3) at the given fixed
timestamp: canonical request, string to sign and Authorization header.
exchange: boto3 reads the blob outboard uploaded to the S3 stand-in (and its sha256 record), then
uploads one of its own in outboard's layout (ID and ID.sha256 = "<sha256 hex> <size>").
"""
import base64
import hashlib
import json
import os
import secrets
import sys


def sign(plan):
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    results = []
    for item in plan["requests"]:
        request = AWSRequest(
            method=item["method"],
            url=item["url"],
            params=[tuple(pair) for pair in item["query"]],
            data=bytes.fromhex(item["body_hex"]),
            headers=item["headers"],
        )
        credentials = Credentials(item["key_id"], item["secret"], item["session_token"] or None)
        auth = S3SigV4Auth(credentials, "s3", item["region"])
        request.context["timestamp"] = item["amz_date"]  # add_auth would take the clock's time
        auth._modify_request_before_signing(request)
        canonical = auth.canonical_request(request)
        to_sign = auth.string_to_sign(request, canonical)
        auth._inject_signature_to_request(request, auth.signature(to_sign, request))
        results.append({
            "canonical_request": canonical,
            "string_to_sign": to_sign,
            "authorization": request.headers["Authorization"],
        })
    return {"results": results}


def exchange(plan):
    import boto3
    from botocore.config import Config

    s3 = boto3.client(
        "s3",
        endpoint_url=plan["endpoint"],
        region_name="us-east-1",
        aws_access_key_id=plan["key_id"],
        aws_secret_access_key=plan["secret"],
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )
    bucket, prefix = plan["bucket"], plan["prefix"]
    ours = s3.get_object(Bucket=bucket, Key=prefix + plan["ours_id"])["Body"].read()
    record = s3.get_object(Bucket=bucket, Key=prefix + plan["ours_id"] + ".sha256")["Body"].read().decode()

    data = secrets.token_bytes(200_000)
    digest = hashlib.sha256(data).hexdigest()
    # IDs are base64url of 18 random bytes, as outboard makes them (the store refuses other shapes).
    theirs_id = base64.urlsafe_b64encode(secrets.token_bytes(18)).decode()
    s3.put_object(Bucket=bucket, Key=prefix + theirs_id, Body=data)
    s3.put_object(Bucket=bucket, Key=prefix + theirs_id + ".sha256", Body=f"{digest} {len(data)}".encode())
    return {
        "ours_sha256": hashlib.sha256(ours).hexdigest(),
        "ours_size": len(ours),
        "ours_record": record,
        "theirs_id": theirs_id,
        "theirs_sha256": digest,
        "theirs_size": len(data),
    }


def main():
    mode, directory = sys.argv[1], sys.argv[2]
    with open(os.path.join(directory, mode + ".json")) as f:
        plan = json.load(f)
    result = sign(plan) if mode == "sign" else exchange(plan)
    out = "botocore.json" if mode == "sign" else "boto3.json"
    with open(os.path.join(directory, out), "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
