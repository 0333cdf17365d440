"""The NWB model: metadata, the object tree with neurodata types, time bases, tables.

``open_nwb`` (also ``nwbscope.open``) gives an ``NWBFile``; it knows NWB, not screens.
"""

from .file import NWBFile, open_nwb

__all__ = ["NWBFile", "open_nwb"]
