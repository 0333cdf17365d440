"""The NWB model: metadata, the object tree with neurodata types, time bases, tables."""
