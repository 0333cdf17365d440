"""Processors: one module per sorter family, a registry, and their parameter schemas.

Only workers import the families (``registry``); the broker uses ``schema`` and ``validate``,
which never import a sorter.
"""
