"""Who people are and what they may do: levels, scopes and roles, a viewer's authority, login, users.

May import: ocenter.models (the user and login tables), errors, i18n, and for the use cases
(``authentication``, ``sessions``, ``admin``) context and events. ``levels`` and ``authority``
import nothing else of ocenter, so every other package may build on them.
"""
