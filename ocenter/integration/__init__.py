"""Data integrated from all producers: each sender's accepted file replaces only its own
partitions, dashboards read the union of the newest version of every partition, and Pusdatin
sees who has and has not sent.

May import: ocenter.contracts, ocenter.verification.datasets (stored versions), ocenter.storage
(where they are kept), ocenter.reference, ocenter.models (the partition tables' rows as plain
values); never the procedure, the store or the UI.
"""


def integration_lock(dataset_id: str) -> str:
    """The name of the PostgreSQL advisory lock a dataset's builds take turns on (its ``hashtext``
    is the key); a backup holds it while it copies the build its snapshot names."""
    return f"integrate:{dataset_id}"
