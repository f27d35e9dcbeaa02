"""Markdown and HTML table formatters."""

import pytest

from netmarl_verify.reports import Link, format_value, html_table, markdown_table


def test_format_value():
    assert format_value(0.123456789) == "0.1235"
    assert format_value(0.123456789, digits=7) == "0.1234568"
    assert format_value(float("nan")) == "—"
    assert format_value(float("inf")) == "∞"
    assert format_value(True) == "yes"
    assert format_value(None) == ""
    assert format_value(12) == "12"


def test_markdown_table_alignment_and_escaping():
    text = markdown_table(["name", "x"], [["a|b", 1.5], ["c", 2]])
    assert text.splitlines() == ["| name | x |", "|:---|---:|", "| a\\|b | 1.5 |", "| c | 2 |"]


def test_html_table_escapes_and_classes():
    text = html_table(["v", "verdict"], [["<b>", "violated"]],
                      cell_class=lambda h, v: "bad" if v == "violated" else None)
    assert "&lt;b&gt;" in text and '<td class="bad">violated</td>' in text


def test_links():
    assert markdown_table(["r"], [[Link("report", "toy/report.md")]]).endswith("| [report](toy/report.md) |")
    assert '<a href="toy/report.html">report</a>' in html_table(["r"], [[Link("report", "toy/report.html")]])


def test_row_length_checked():
    with pytest.raises(ValueError, match="row 0"):
        markdown_table(["a", "b"], [[1]])
