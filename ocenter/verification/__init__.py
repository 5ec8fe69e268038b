"""Verification (SOP step 3): a table of text checked against its data contract, and what follows.

May import: ocenter.textformats, ocenter.contracts, ocenter.intake, ocenter.reference,
ocenter.accounts.levels, ocenter.clock, ocenter.storage (where files are kept), errors and i18n.
Nothing here imports the procedure, the store or the UI.
"""
