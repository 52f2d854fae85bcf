"""Shared foundation below the three domain cores.

It owns what every core needs and none of them should own: the declarative base, the
acting-user model and its roles, the occupation catalogue, the institution registry, the
working-day calendar, configurable rules and the hash-chained audit trail.

Dependency direction: ``web -> grading -> examroom -> itembank -> foundation``.
Nothing here imports Flask.
"""
