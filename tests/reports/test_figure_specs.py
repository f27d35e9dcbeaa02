"""Figure specs (netmarl_verify.verify) drawn by reports.figures.draw, and the renderer's two figure forms."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from netmarl_verify.reports import figures, render_paper
from netmarl_verify.reports.figures import close, draw
from netmarl_verify.verify import (
    DecayFigure,
    HLine,
    LinesFigure,
    LogLogErrorFigure,
    Series,
    Style,
    VLine,
    Where,
    is_figure_spec,
)


@pytest.fixture
def rows():
    """Tidy-looking rows: two instances, two agents, kappa 0..3 in shuffled order, one row outside the hypotheses."""
    recs = []
    for inst in ("a", "b"):
        for i in (0, 1):
            for k in (2, 0, 3, 1):
                recs.append({"instance": inst, "point.i": i, "point.kappa": k, "point.weights": "uniform",
                             "measured": 0.5 ** k * (1 + i), "bound": 0.6 ** (k + 1) * 2, "extra.other": 0.7 ** k,
                             "assumptions_hold": not (inst == "b" and k == 3)})
    return pd.DataFrame(recs)


def _xy(line):
    return line.get_xydata()


def _labels(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


# ----------------------------------------------------------------------------- spec types
def test_where_filters_are_data(rows):
    assert Where("instance", "a").mask(rows).sum() == 8
    assert Where("point.kappa", [0, 3]).mask(rows).sum() == 8
    assert Where("assumptions_hold", True).mask(rows).sum() == 14
    assert str(Where("point.kappa", (0, 3))) == "point.kappa in (0, 3)"
    assert Where("instance", "a") == Where("instance", "a")  # comparable, printable: no lambdas
    with pytest.raises(KeyError, match="no column 'point.j'"):
        Where("point.j", 0).mask(rows)
    spec = DecayFigure("t", Series("m", "measured"), where={"instance": "a", "point.i": [0, 1]})
    assert spec.where == (Where("instance", "a"), Where("point.i", (0, 1)))


def test_resolve_selects_sorts_and_records_the_filter(rows):
    spec = DecayFigure("t", Series("m", "measured", where={"point.i": 1}), bounds=Series("b", "bound"),
                       where={"instance": "a"})
    assert not spec.resolved
    data = spec.resolve(rows)
    assert data.resolved and not data.empty
    np.testing.assert_array_equal(data.series[0].x, [0, 1, 2, 3])
    np.testing.assert_array_equal(data.series[0].y, 2 * 0.5 ** np.arange(4))
    assert data.series[0].where_text() == "instance == 'a' and point.i == 1"
    assert data.bounds[0].n_points == 8  # the bound has only the figure's filter: both agents
    assert spec.resolve(rows).series[0].y.flags.writeable is False


def test_spec_validation():
    with pytest.raises(ValueError, match="no series"):
        LinesFigure("t", [])
    with pytest.raises(ValueError, match="points for"):
        Series("m", [1.0, 2.0], x=[0, 1, 2]).resolve(None)
    with pytest.raises(ValueError, match="x is given as values"):
        Series("m", "measured", x=[0, 1])
    with pytest.raises(ValueError, match="legend"):
        LinesFigure("t", Series("m", [1.0], x=[0]), legend="left")
    with pytest.raises(TypeError, match="figure spec"):
        draw(object())
    with pytest.raises(ValueError, match="reads columns"):
        draw(DecayFigure("t", Series("m", "measured")))
    assert is_figure_spec(LogLogErrorFigure("t", Series("e", [1.0], x=[1])))
    assert not is_figure_spec(plt.figure) and DecayFigure.kind == "decay"


# ----------------------------------------------------------------------------- draw: every kind
def test_draw_decay_figure_puts_exactly_the_selected_rows_into_the_axes(rows):
    spec = DecayFigure("Theorem 1: a, agent 0",
                       [Series("uniform", "measured"), Series("other", "extra.other")],
                       bounds=[Series("paper's bound", "bound"), Series("second", "extra.other")],
                       where={"instance": "a", "point.i": 0}, hlines=HLine(0.9, "start"), ylabel="error")
    fig = draw(spec, rows)
    ax = fig.axes[0]
    k = np.arange(4.0)
    lines = ax.get_lines()
    assert [ln.get_label() for ln in lines] == ["uniform", "other", "paper's bound", "second", "start"]
    np.testing.assert_allclose(_xy(lines[0]), np.column_stack([k, 0.5**k]), rtol=1e-14)
    np.testing.assert_allclose(_xy(lines[1]), np.column_stack([k, 0.7**k]), rtol=1e-14)
    np.testing.assert_allclose(_xy(lines[2]), np.column_stack([k, 2 * 0.6 ** (k + 1)]), rtol=1e-14)
    assert lines[2].get_linestyle() == "--" and lines[2].get_color() == "black"
    assert lines[3].get_color() == "C6" and lines[0].get_color() == "C0" and lines[1].get_color() == "C1"
    assert set(lines[4].get_ydata()) == {0.9}
    assert ax.get_yscale() == "log" and ax.get_xscale() == "linear"
    assert ax.get_xlabel() == r"$\kappa$" and ax.get_ylabel() == "error" and ax.get_title() == spec.title
    close(fig)


def test_integer_ticks_where_integer_x():
    x = np.array([0.0, 1.0, 2.0])
    spec = DecayFigure("t", Series("m", [1.0, 0.5, 0.25], x=x))
    fig = draw(spec)
    fig.canvas.draw()
    ticks = fig.axes[0].get_xticks()
    assert len(ticks) and np.all(ticks == np.round(ticks))
    close(fig)
    fig = draw(LinesFigure("t", Series("m", [1.0, 0.5, 0.25], x=x)))  # LinesFigure: integer_x False
    ticks = fig.axes[0].get_xticks()
    assert not np.all(ticks == np.round(ticks))
    close(fig)


def test_draw_runs_as_median_and_band_mask_non_positive_on_log_axes():
    rng = np.random.default_rng(0)
    k = np.arange(5.0)
    runs = rng.uniform(0.5, 1.5, size=(20, 5)) * 0.5**k
    runs[:, -1] = 0.0
    fig = draw(DecayFigure("t", Series("measured", runs, x=k)))
    ax = fig.axes[0]
    line = ax.get_lines()[0]
    assert line.get_label() == "measured (median of 20)"
    np.testing.assert_array_equal(line.get_xdata(), k)
    np.testing.assert_allclose(line.get_ydata()[:-1], np.median(runs, axis=0)[:-1])
    assert np.isnan(line.get_ydata()[-1])
    assert len(ax.collections) == 1 and "10%-90%" in _labels(ax)
    close(fig)
    fig = draw(LinesFigure("t", Series("linear", [-1.0, 0.0, 2.0], x=[0, 1, 2])))  # linear axis: nothing masked
    np.testing.assert_array_equal(fig.axes[0].get_lines()[0].get_ydata(), [-1.0, 0.0, 2.0])
    close(fig)


def test_draw_mask_at_or_below():
    fig = draw(DecayFigure("t", Series("m", [1e-16, 0.5, 0.25], x=[0, 1, 2], mask_at_or_below=1e-12)))
    y = fig.axes[0].get_lines()[0].get_ydata()
    assert np.isnan(y[0]) and list(y[1:]) == [0.5, 0.25]
    close(fig)


def test_draw_loglog_error_figure_uses_the_given_slopes():
    t = np.logspace(0, 4, 12)
    runs = 3.0 / np.sqrt(t) * np.exp(np.random.default_rng(2).normal(0, 0.05, size=(6, 12)))
    spec = LogLogErrorFigure("critic\nsecond line", [Series("error", runs, x=t),
                                                    Series("ode", 1.0 / t, x=t, style=Style(color="0.5", linestyle=":",
                                                                                            marker=""))],
                             fitted_slope=-0.123, claimed_slope=-0.5, vlines=VLine(100.0))
    fig = draw(spec)
    ax = fig.axes[0]
    assert ax.get_xscale() == ax.get_yscale() == "log"
    labels = [ln.get_label() for ln in ax.get_lines()]
    assert labels[:4] == ["error (median of 6)", "fitted slope -0.123", "claimed slope -0.5", "ode"]
    fitted, claimed = ax.get_lines()[1], ax.get_lines()[2]
    for line, slope in ((fitted, -0.123), (claimed, -0.5)):  # exactly the spec's slopes, not a fit of the data
        assert np.polyfit(np.log(line.get_xdata()), np.log(line.get_ydata()), 1)[0] == pytest.approx(slope)
    np.testing.assert_allclose(_xy(ax.get_lines()[0]), np.column_stack([t, np.median(runs, axis=0)]))
    ode = ax.get_lines()[3]
    assert ode.get_marker() in ("", "None") and ode.get_linestyle() == ":"
    assert set(ax.get_lines()[4].get_xdata()) == {100.0}
    assert ax.title.get_fontsize() < plt.rcParams["font.size"] * 1.2  # a two-line title is drawn small
    close(fig)
    fig = draw(LogLogErrorFigure("t", Series("e", [1.0, 0.5], x=[1, 10])))
    assert not [ln for ln in fig.axes[0].get_lines() if "slope" in ln.get_label()]
    close(fig)


def test_draw_lines_figure_styles_ticks_and_legend_below():
    its = np.array([100.0, 200.0, 300.0])
    curve = np.array([[0.2, 0.25, 0.3], [0.21, 0.24, 0.31]])
    spec = LinesFigure("Fig. 5", [Series("SAC kappa=0", curve, x=its, style=Style(color="C0", markersize=2.5)),
                                  Series("final", [0.3, 0.31], x=[310.0, 310.0],
                                         style=Style(color="C0", linestyle="none", marker="_", markersize=9))],
                       hlines=[HLine(0.24, "ALOHA", Style(color="k", linestyle="--", linewidth=1.2)),
                               HLine(0.18, None)],
                       band_legend=False, legend="below", figsize=(6.8, 5.0))
    fig = draw(spec)
    ax = fig.axes[0]
    assert tuple(fig.get_size_inches()) == (6.8, 5.0)
    assert ax.get_yscale() == "linear" and not any(g.get_visible() for g in ax.get_xgridlines())
    med, final, aloha, uniform = ax.get_lines()
    np.testing.assert_allclose(med.get_ydata(), np.median(curve, axis=0))
    assert med.get_markersize() == 2.5 and final.get_marker() == "_" and final.get_linestyle() == "None"
    np.testing.assert_array_equal(_xy(final), [[310.0, 0.3], [310.0, 0.31]])
    assert aloha.get_linewidth() == 1.2 and aloha.get_color() == "k"
    assert _labels(ax) == ["SAC kappa=0 (median of 2)", "final", "ALOHA"]  # no band, no unlabelled line
    assert ax.get_legend().get_bbox_to_anchor() is not None
    close(fig)


def test_empty_selection_draws_a_figure_that_says_no_rows(rows):
    spec = DecayFigure("Theorem 1: z", Series("m", "measured"), where={"instance": "z"})
    assert spec.resolve(rows).empty
    fig = draw(spec, rows)
    ax = fig.axes[0]
    assert not ax.get_lines() and ax.get_title() == "Theorem 1: z"
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["no rows match:\ninstance == 'z'"]
    assert ax.get_legend() is None
    close(fig)


def test_drawing_leaves_no_pyplot_figures(rows):
    before = plt.get_fignums()
    close(draw(DecayFigure("t", Series("m", "measured"), where={"instance": "a", "point.i": 0}), rows))
    assert plt.get_fignums() == before


# ----------------------------------------------------------------------------- Claim.figure: both forms
def test_claim_figures_dispatch_on_the_signature(toy_registry, toy_rows):
    claim = toy_registry.get("toy.geometric")
    rows = toy_rows[toy_rows["claim"] == "toy.geometric"]
    legacy = claim.figures(rows, figures)  # today's toy: figure(rows, plots) with decay_plot
    assert len(legacy) == 1 and not is_figure_spec(legacy[0])
    close(legacy[0])
    with pytest.raises(TypeError, match="plotting kit"):
        claim.figures(rows)
    claim.figure = lambda rows: DecayFigure("t", Series("m", "measured"), x="point.K")
    assert is_figure_spec(claim.figures(rows)[0])
    claim.figure = lambda rows, scale=2: None  # one required positional parameter: the spec form
    assert claim.figures(rows) == []


def _spec_figure(rows):
    name = rows[rows["assumptions_hold"]]["instance"].iloc[0]
    return [DecayFigure(f"tail bound, {name}", Series("partial sum", "measured"), bounds=Series("bound", "bound"),
                        x="point.K", where={"instance": name}, xlabel="K"),
            DecayFigure("nothing selected", Series("m", "measured"), x="point.K", where={"instance": "none"})]


def test_render_paper_draws_specs(toy_rows, toy_registry, tmp_path):
    claim = toy_registry.get("toy.geometric")
    claim.figure = _spec_figure
    paths = render_paper("toy", toy_rows, [claim], tmp_path)
    assert [p.name for p in paths["figures"]] == ["toy.geometric-1.png", "toy.geometric-2.png"]
    assert paths["figure_errors"] == []
    md = paths["markdown"].read_text()
    assert "Figure 1 of toy.geometric: tail bound" in md and "Figure 2 of toy.geometric: nothing selected" in md
    assert plt.get_fignums() == []


def test_render_paper_mixes_specs_and_figures_and_reports_a_failing_spec(toy_rows, toy_registry, tmp_path):
    from netmarl_verify.reports.figures import decay_plot

    claim = toy_registry.get("toy.geometric")
    claim.figure = lambda rows: [decay_plot([0, 1], [1.0, 0.5]),
                                 DecayFigure("bad column", Series("m", "no.such.column"), x="point.K"),
                                 _spec_figure(rows)[0]]
    paths = render_paper("toy", toy_rows, [claim], tmp_path)
    assert [p.name for p in paths["figures"]] == ["toy.geometric-1.png", "toy.geometric-3.png"]
    assert len(paths["figure_errors"]) == 1
    assert "toy.geometric" in paths["figure_errors"][0] and "no.such.column" in paths["figure_errors"][0]
    assert "Figure 2 not drawn" in paths["markdown"].read_text()
    assert plt.get_fignums() == []
