"""The Git spec store: specs and contracts in a bare repository; a branch is a mock-up, a merge an
approval. Written only through plumbing and compare-and-swap ref updates; mirrored to a remote.

May import: ocenter.contracts, ocenter.display.spec (the spec model), ocenter.yamlfiles (its
limits), config, errors, i18n; never the procedure, the database or the UI.
"""
