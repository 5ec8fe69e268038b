"""A real S3-compatible server for the tests: moto's server on 127.0.0.1, one bucket per test.

Credentials are test values set in the environment (as an operator sets ``AWS_*``), so the app
reads them the way it does in production; nothing in the app carries a default.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

#: What the app reads from the environment to reach the test server.
TEST_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "ocenter-test",
    "AWS_SECRET_ACCESS_KEY": "ocenter-test-secret",
    "AWS_REGION": "us-east-1",
    # No instance metadata service to ask on this machine: the SDK would wait for it.
    "AWS_EC2_METADATA_DISABLED": "true",
}


@contextlib.contextmanager
def running_s3_server() -> Iterator[str]:
    """Start moto's S3 server on a free local port; yields its endpoint URL."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # a line per request otherwise
    before = {name: os.environ.get(name) for name in TEST_AWS_ENV}
    os.environ.update(TEST_AWS_ENV)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def new_bucket(endpoint_url: str) -> str:
    """Create a bucket of its own on the server; returns its name."""
    from urllib.parse import urlsplit

    from pyarrow import fs

    name = f"ocenter-{uuid.uuid4().hex[:12]}"
    parts = urlsplit(endpoint_url)
    s3 = fs.S3FileSystem(endpoint_override=parts.netloc, scheme=parts.scheme, region="us-east-1",
                         allow_bucket_creation=True)
    s3.create_dir(name)
    return name


def bucket_env(endpoint_url: str, bucket: str, prefix: str = "ocenter") -> dict[str, str]:
    """The settings of an installation keeping its files in ``bucket``."""
    return {"OCENTER_DATASETS_URL": f"s3://{bucket}/{prefix}", "OCENTER_S3_ENDPOINT_URL": endpoint_url,
            **TEST_AWS_ENV}
