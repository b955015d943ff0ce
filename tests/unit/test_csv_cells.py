"""Every cell the product writes to a CSV reads back as written, and no spreadsheet runs it.

Issue 21 finding 11: a supervisor opens the attempt export in a spreadsheet. A cell starting
with = + - @ (or tab or carriage return, which spreadsheets strip before reading a formula) is
kept from being read as a formula by a leading quote; every other cell, and an empty one,
reads back exactly as it was.
"""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from outreach.services.supervision import attempt_export

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def read_back(line: str) -> list[str]:
    rows = list(csv.reader(io.StringIO(line, newline="")))
    assert len(rows) == 1, "one export line is one CSV record"
    return rows[0]


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_a_cell_starting_a_formula_is_quoted_and_reads_back_quoted(start: str) -> None:
    value = f'{start}HYPERLINK("http://example.test","x")'
    assert read_back(attempt_export._csv_line((value,))) == ["'" + value]


def test_empty_and_ordinary_cells_read_back_unchanged() -> None:
    values = ("", "a, b", 'she said "hi"', "two\nlines", "plain", "2026-11-17", "", "x=1")
    assert read_back(attempt_export._csv_line(values)) == list(values)


def test_a_formula_start_further_in_is_left_alone() -> None:
    assert read_back(attempt_export._csv_line((" =1", "a-b", "x@y"))) == [" =1", "a-b", "x@y"]


@given(st.lists(st.text(), min_size=1, max_size=8))
@example(["", "=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "a,b", 'a"b', "a\nb", ""])
def test_every_row_reads_back_as_its_values_with_formulas_quoted(values: list[str]) -> None:
    expected = ["'" + v if v[:1] and v[0] in "=+-@\t\r" else v for v in values]
    # csv itself cannot carry a lone carriage return unquoted; what comes back is what went in.
    assert read_back(attempt_export._csv_line(tuple(values))) == expected
