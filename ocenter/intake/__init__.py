"""Reading what senders send (CSV, XLSX, XLS, ODS, XLSB) into tables of text, refusing what cannot be read.

May import: ocenter.contracts, ocenter.textformats, ocenter.storage, errors; never verification or the
procedure.
"""
