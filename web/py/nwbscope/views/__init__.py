"""Views of neurodata types: a registry of records, pure data steps and Bokeh drawing steps.

Why three parts: the registry (``registry.py``) decides which view fits an object from the
metadata the tree has already read (no new I/O); each view's data step (``data/``) turns a
time window into arrays and is tested in CPython without Bokeh; only the drawing modules
import Bokeh, and only when a view opens. ``nwb/`` never imports this package.
"""
