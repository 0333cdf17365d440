"""What every view is: built once as Bokeh models, then fed frames of arrays per time window.

Why this split: the page embeds a view's Bokeh document once (``figure``) and afterwards only
replaces the data of its named ``ColumnDataSource``s (``frames``), so a pan moves arrays, not
documents. ``frames`` is a generator: a view that reads many chunks yields a coarse frame
first and refines it; the caller stops iterating when a newer window supersedes this one, and
that is the whole cancellation protocol (nothing else is read).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ..errors import ParameterError
from ..nwb.file import NWBFile
from .registry import ViewSpec
from .window import TimeWindow

Column = np.ndarray | list[np.ndarray]


@dataclass
class Frame:
    """New data for some of a panel's sources; ``complete`` is False while refining."""

    sources: dict[str, dict[str, Column]]
    complete: bool = True
    status: str = ""  # shown under the plot, e.g. "refining: 12 of 40 chunks read"
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)  # y ranges by name
    notes: tuple[str, ...] = ()  # warnings about the data, shown in the panel


@dataclass(frozen=True)
class Option:
    """A control of a view: the page shows it as a Bokeh widget inside the panel."""

    name: str
    label: str
    kind: str  # "select" | "multiselect" | "number" | "toggle" | "text"
    value: Any
    choices: tuple[tuple[str, str], ...] = ()  # (value, label) for selects
    low: float | None = None
    high: float | None = None
    step: float | None = None
    rebuild: bool = False  # changing it rebuilds the figure (else only new frames)
    help: str = ""


class View:
    """Base class: subclasses set ``spec`` in the registry and implement the three steps."""

    height: ClassVar[int] = 320

    def __init__(self, nwb: NWBFile, path: str, panel_id: str, spec: ViewSpec,
                 options: dict[str, Any] | None = None) -> None:
        self.nwb = nwb
        self.path = path
        self.panel_id = panel_id
        self.spec = spec
        self.values: dict[str, Any] = {o.name: o.value for o in self.options_cached()}
        for name, value in (options or {}).items():
            self.set_option(name, value)

    # -- what subclasses provide ------------------------------------------------------------
    def options(self) -> list[Option]:
        """The view's controls with their defaults (called once, before any option is set)."""
        return []

    def span(self) -> tuple[float, float] | None:
        """The object's extent in session time (for the first window and the alignment)."""
        return None

    def initial_duration(self) -> float:
        """Seconds shown when this view opens first (no window is shared yet)."""
        return 10.0

    def figure(self, window: TimeWindow) -> Any:
        """The Bokeh layout, with named sources and the shared x range (``bokeh_kit``)."""
        raise NotImplementedError

    def frames(self, window: TimeWindow) -> Iterator[Frame]:
        """Data for ``window``; yield coarse frames first when a window reads much."""
        raise NotImplementedError

    def prefetch(self) -> None:
        """Read ahead what the first frame needs. The worker calls this just after sending
        a new document, while the page embeds it (a time it would idle); a view that keeps
        what it read here answers its first ``frames`` sooner (the table's page)."""

    def select_rows(self, table: str, rows: list[int]) -> str:
        """Rows of the table at path ``table`` were chosen in another panel (channels
        box-selected on a probe, a ROI clicked): "" when this view does not show that table,
        "frames" when only new frames are needed, "rebuild" when its figure must be rebuilt
        (a control shows the choice). ``rows`` are row numbers, not ids."""
        return ""

    # -- options ------------------------------------------------------------------------------
    def set_option(self, name: str, value: Any) -> bool:
        """Set one control's value (checked against its record); True when the figure must
        be rebuilt for it."""
        option = next((o for o in self.options_cached() if o.name == name), None)
        if option is None:
            raise ParameterError(name, f"the {self.spec.title} view has no option {name!r}")
        self.values[name] = self.check(option, value)
        return option.rebuild

    def options_cached(self) -> list[Option]:
        if not hasattr(self, "_options"):
            self._options = self.options()
        return self._options

    @staticmethod
    def check(option: Option, value: Any) -> Any:
        """The value made to fit the option's kind, or a ParameterError naming it."""
        if option.kind == "number":
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise ParameterError(option.name, f"{option.label} must be a number, got "
                                     f"{value!r}") from None
            if not np.isfinite(number) or (option.low is not None and number < option.low) or (
                    option.high is not None and number > option.high):
                raise ParameterError(option.name, f"{option.label} must be between "
                                     f"{option.low} and {option.high}, got {value!r}")
            return number
        if option.kind == "toggle":
            return bool(value) and value not in ("0", "false", "off")
        if option.kind == "select":
            allowed = [v for v, _ in option.choices]
            if allowed and str(value) not in allowed:
                raise ParameterError(option.name, f"{option.label} must be one of "
                                     f"{', '.join(allowed)}, got {value!r}")
            return str(value)
        if option.kind == "multiselect":
            values = [str(v) for v in (value if isinstance(value, list | tuple) else [value])]
            allowed = {v for v, _ in option.choices}
            bad = [v for v in values if allowed and v not in allowed]
            if bad:
                raise ParameterError(option.name, f"{option.label}: unknown {', '.join(bad)}")
            return values
        return str(value)
