"""Who people are and what they may do: levels, scopes and roles, a viewer's authority, whose
eyes a request's words are for, login, users.

May import: ocenter.models (the user table), errors, i18n. ``levels`` and ``authority`` import
nothing else of ocenter, so every other package may build on them.
"""
