"""Data integrated from all producers: each sender's accepted file replaces only its own
partitions, dashboards read the union of the newest version of every partition, and Pusdatin
sees who has and has not sent.

May import: ocenter.contracts, ocenter.verification.datasets (stored versions), ocenter.storage
(where they are kept), ocenter.reference, ocenter.models (the partition tables' rows as plain
values); never the procedure, the store or the UI.
"""
