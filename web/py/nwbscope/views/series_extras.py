"""Traces of the TimeSeries subtypes whose own metadata says what the lines are.

Why subclasses and not options of ``TimeSeriesView``: what is missing there is only naming.
An AbstractFeatureSeries names its columns (``features``, with ``feature_units``), so its
lines are labelled with them instead of "ch k"; an OptogeneticSeries is a stimulus delivered
at a site, and the site (description, excitation wavelength, location) is what a scientist
needs beside the power trace, so it leads the status line. Everything else (decimation,
gain, scale control) is the traces view's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from ..errors import NwbscopeError
from ..nwb.values import text, text_list
from .base import Frame
from .traces import TimeSeriesView
from .window import TimeWindow


class FeatureSeriesView(TimeSeriesView):
    """An AbstractFeatureSeries: one line per feature, named ``feature (unit)``."""

    def labels(self) -> list[str]:
        group = self.nwb.group(self.path)
        n = self.series.n_channels
        names = _strings(group, "features")
        units = _strings(group, "feature_units")
        if len(names) != n:
            return super().labels()
        if len(units) == n:
            return [f"{name} ({unit})" if unit else name for name, unit in zip(names, units,
                                                                               strict=True)]
        return names


class OptogeneticSeriesView(TimeSeriesView):
    """An OptogeneticSeries: its site's description, wavelength and location in the status."""

    def site_text(self) -> str:
        """``site: <description> · <lambda> nm · <location>``, or "" without a site."""
        group = self.nwb.group(self.path)
        if "site" not in group:
            return ""
        try:
            site = group["site"]
        except NwbscopeError:
            return "site: (link cannot be followed)"
        parts = [_value(site, "description"), _value(site, "excitation_lambda"),
                 _value(site, "location")]
        if parts[1]:
            parts[1] += " nm"
        return "site: " + " · ".join(p for p in parts if p)

    def frames(self, window: TimeWindow) -> Iterator[Frame]:
        site = self.site_text()
        for frame in super().frames(window):
            yield replace(frame, status=" · ".join(p for p in (site, frame.status) if p))


def _strings(group: Any, name: str) -> list[str]:
    if name not in group:
        return []
    try:
        return text_list(group[name][()])
    except NwbscopeError:
        return []


def _value(site: Any, name: str) -> str:
    """A site's dataset (or attribute, in older files) as text."""
    if name in site:
        value = site[name][()]
    else:
        value = site.attrs.get(name)
    if value is None:
        return ""
    if isinstance(value, float) or getattr(value, "dtype", None) is not None:
        try:
            return f"{float(value):g}"
        except (TypeError, ValueError):
            pass
    return text(value) or ""
