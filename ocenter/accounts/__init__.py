"""Who people are and what they may do: levels, scopes, roles and tiers, a viewer's authority, whose
eyes a request's words are for, login, users, and the dashboards granted to authorised parties.

May import: ocenter.models (the user, grant and login tables), errors, i18n, clock; the use cases
(``authentication``, ``sessions``, ``admin``, ``grants``) also the context, the event log and, for
``grants``, the approved specs on main. ``levels`` and ``authority`` import nothing else of
ocenter, so every other package may build on them.
"""
