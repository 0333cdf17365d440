"""Pure data steps of the views: windows in, dataclasses of numpy arrays out (no Bokeh)."""
