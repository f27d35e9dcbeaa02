"""Checks shared by the qu2020 figure tests: a claim's specs on its rows, and what drawing them puts in the Axes."""

import numpy as np

from netmarl_verify.reports.figures import close, draw
from netmarl_verify.verify import LogLogErrorFigure, is_figure_spec, to_frame


def claim_specs(claim, rows):
    """The claim's figure specs on `rows` (CheckResults or a frame), each resolved against the frame."""
    frame = rows if hasattr(rows, "columns") else to_frame(rows)
    frame = frame.reset_index(drop=True)
    specs = claim.figures(frame)
    assert specs and all(is_figure_spec(s) for s in specs), specs
    return [s.resolve(frame) for s in specs], frame


def shape(spec):
    """``(kind, [(runs, points) per series], [points per bound], hlines, vlines)`` of a resolved spec."""
    return (spec.kind, [(s.n_runs, s.n_points) for s in spec.series], [b.n_points for b in spec.bounds],
            len(spec.hlines), len(spec.vlines))


def _expected_xy(spec, s):
    y = np.array(s.y, dtype=float)
    if s.mask_at_or_below is not None:
        y[~(y > s.mask_at_or_below)] = np.nan
    if y.ndim == 2:
        y = np.nanmedian(y, axis=0)
    if spec.log_y:
        y[~(y > 0)] = np.nan
    return np.column_stack([np.asarray(s.x, dtype=float), y])


def assert_drawn_as_spec(spec, frame=None):
    """Draw `spec` and check the Axes hold exactly its data: one line per series (x, median) and bound,
    one band per 2-D series, the reference lines, labels, scales and title."""
    fig = draw(spec, frame)
    try:
        ax = fig.axes[0]
        spec = spec.resolve(frame) if frame is not None else spec
        lines = [ln for ln in ax.get_lines() if not ln.get_label().startswith(("fitted slope", "claimed slope"))]
        drawn = [s for s in spec.series + spec.bounds if s.n_points]
        assert len(lines) == len(drawn) + len(spec.hlines) + len(spec.vlines)
        for line, s in zip(lines, drawn):
            np.testing.assert_allclose(line.get_xydata(), _expected_xy(spec, s), rtol=0, atol=0, equal_nan=True)
            if s.label is not None:
                assert line.get_label().startswith(s.label)
        for line, h in zip(lines[len(drawn):], spec.hlines):
            assert set(line.get_ydata()) == {h.y}
        for line, v in zip(lines[len(drawn) + len(spec.hlines):], spec.vlines):
            assert set(line.get_xdata()) == {v.x}
        bands = sum(1 for s in spec.series if s.band and s.n_runs >= 2 and spec.band is not None)
        assert len(ax.collections) == bands
        slopes = [ln for ln in ax.get_lines() if ln.get_label().startswith(("fitted slope", "claimed slope"))]
        if isinstance(spec, LogLogErrorFigure):
            assert len(slopes) == (spec.fitted_slope is not None) + (spec.claimed_slope is not None)
        else:
            assert not slopes
        assert ax.get_yscale() == ("log" if spec.log_y else "linear")
        assert ax.get_xscale() == ("log" if spec.log_x else "linear")
        if spec.integer_x:
            ticks = ax.get_xticks()
            assert np.all(ticks == np.round(ticks)), ticks
        assert ax.get_title() == spec.title and ax.get_xlabel() == spec.xlabel and ax.get_ylabel() == spec.ylabel
    finally:
        close(fig)
