"""The Git spec store: specs, contracts and each dashboard's steps 6-8 in a bare repository; a
branch is a mock-up (or a contract change), a merge an approval of exactly what it may change.
Written only through plumbing and compare-and-swap ref updates; mirrored to a remote.

May import: ocenter.contracts, ocenter.display.spec and ocenter.display.lifecycle (the spec and
lifecycle models), ocenter.yamlfiles (its limits), config, errors, i18n; never the procedure, the
database or the UI.
"""
