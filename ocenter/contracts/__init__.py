"""Data contracts: what a dataset sent to the Operational Center must look like, its quality rules,
what a new version changes (readably, for its review), their interchange (ODCS v3, JSON Schema)
and drafts inferred from samples.

May import: ocenter.accounts.levels, ocenter.reference, ocenter.textformats, ocenter.yamlfiles,
ocenter.i18n and ocenter.errors (refusals); never verification, the store or the procedure.
"""
