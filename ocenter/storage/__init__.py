"""Where content-addressed files live: folders under OCENTER_HOME, and optionally a shared bucket.

Accepted datasets and uploads waiting for verification are named by their SHA-256 and never
change, so a bucket (``OCENTER_DATASETS_URL=s3://...``) can be the shared truth of several
replicas while each keeps its own folders as a read-through cache: a write goes to the bucket
and the folder, a read takes the folder and fetches from the bucket on a miss. Whoever reads
still checks the bytes against the digest recorded in the database; nothing here trusts them.

May import: the standard library, pyarrow (its filesystem layer), ``ocenter.errors``; never the
database, the spec store or the procedure.
"""

from ocenter.storage.bucket import Bucket, BucketLocation, parse_bucket_url
from ocenter.storage.files import (
    SharedFiles,
    attach_bucket,
    detach_bucket,
    files_of,
    write_atomically,
)

__all__ = [
    "Bucket",
    "BucketLocation",
    "SharedFiles",
    "attach_bucket",
    "detach_bucket",
    "files_of",
    "parse_bucket_url",
    "write_atomically",
]
