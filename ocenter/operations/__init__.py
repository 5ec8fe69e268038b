"""Running an installation in production: backup and restore, and the operator's health check.

May import the rest of ``ocenter`` (config, database, store, datasets, procedure); never Streamlit.
"""
