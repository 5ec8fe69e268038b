"""Who people are and what they may do: levels, scopes and roles, a viewer's authority, login, users,
and the dashboards granted to authorised parties.

May import: ocenter.models (the user, grant and login tables), errors, i18n, clock; the use cases
(``authentication``, ``sessions``, ``admin``, ``grants``) also the context, the event log and, for
``grants``, the approved specs on main. ``levels`` and ``authority`` import nothing else of
ocenter, so every other package may build on them.
"""
