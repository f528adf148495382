"""AWS scan benchmark: `keyaudit scan aws` against a moto server on 127.0.0.1 holding N customer keys
in one region; wall time, API calls per key and peak RSS, at the default concurrency and at 1, and a
bare boto3 script making the same per-key calls at the same concurrency for comparison.

Run: .venv/bin/python benchmarks/aws_scan.py [--keys 1000]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
from moto.server import ThreadedMotoServer

from providers.aws import simulator

REGION = "eu-west-1"
ACCOUNT = "123456789012"
POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"},
    {"Sid": "Use", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/App"},
     "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*"}]})  # fmt: skip


def seed(endpoint: str, keys: int) -> None:
    kms = boto3.client("kms", region_name=REGION, endpoint_url=endpoint)
    with simulator.fast_key_generation():
        for n in range(keys):
            key_id = kms.create_key(Tags=[{"TagKey": "n", "TagValue": str(n)}])["KeyMetadata"]["KeyId"]
            kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=POLICY)
            if n % 2:
                kms.enable_key_rotation(KeyId=key_id)


def scan(endpoint: str, concurrency: int) -> dict[str, float | int]:
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
           "AWS_DEFAULT_REGION": REGION, "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "scanner", "scan", "aws", "--region", REGION, "--concurrency", str(concurrency),
             "--format", "json", "-o", str(out), "--fail-on", "none", "--quiet"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        assert os.waitstatus_to_exitcode(status) == 0, proc.stderr.read() if proc.stderr else ""
        result = json.loads(out.read_text())
    notes = result["scan"]["inventory"]["notes"]
    keys = result["scan"]["inventory"]["keys"]
    calls = dict(item.split("=") for item in notes["aws.api_calls_by_operation"].split(", "))
    per_key = sum(int(v) for k, v in calls.items() if k in PER_KEY)
    return {
        "concurrency": concurrency,
        "wall_s": round(wall, 1),
        "peak_rss_mib": round(usage.ru_maxrss / 1024),
        "keys": keys,
        "api_calls": int(notes["aws.api_calls"]),
        "per_key_calls_per_key": round(per_key / keys, 2),
    }


PER_KEY = {
    "kms:DescribeKey",
    "kms:GetKeyRotationStatus",
    "kms:GetKeyPolicy",
    "kms:ListGrants",
    "kms:ListResourceTags",
}


def bare_boto3(endpoint: str, concurrency: int) -> float:
    """The same calls with nothing else: list, then five calls per key on a thread pool."""
    kms = boto3.client("kms", region_name=REGION, endpoint_url=endpoint)
    started = time.perf_counter()
    keys = [k["KeyId"] for page in kms.get_paginator("list_keys").paginate() for k in page["Keys"]]

    def per_key(key_id: str) -> None:
        kms.describe_key(KeyId=key_id)
        kms.get_key_rotation_status(KeyId=key_id)
        kms.get_key_policy(KeyId=key_id, PolicyName="default")
        kms.list_grants(KeyId=key_id)
        kms.list_resource_tags(KeyId=key_id)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(per_key, keys))
    return round(time.perf_counter() - started, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keys", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION=REGION)
    simulator.patch_moto()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        started = time.perf_counter()
        seed(endpoint, args.keys)
        print(f"seeded {args.keys} keys in {time.perf_counter() - started:.1f} s", flush=True)
        print(
            "bare boto3:",
            {"concurrency": args.concurrency, "wall_s": bare_boto3(endpoint, args.concurrency)},
            flush=True,
        )
        print("keyaudit scan aws:", scan(endpoint, args.concurrency), flush=True)
        print("keyaudit scan aws:", scan(endpoint, 1), flush=True)
        print("bare boto3:", {"concurrency": 1, "wall_s": bare_boto3(endpoint, 1)}, flush=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
