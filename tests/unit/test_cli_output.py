"""What the `remedlab` command prints: tables of names are never cut to the terminal's width."""

from __future__ import annotations

import pytest

from remedlab.cli import output
from remedlab.cli.output import plain_table, print_plain


def test_names_stay_whole_in_a_narrow_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    long_name = "network-delay-" + "x" * 90
    text = plain_table(["NAMESPACE", "NAME", "PHASE"], [["hotel-reservation", long_name, "Running"]])
    narrow = output.console.width
    output.console.width = 40
    try:
        print_plain(text)
    finally:
        output.console.width = narrow
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].split() == ["NAMESPACE", "NAME", "PHASE"]
    assert printed[1].split() == ["hotel-reservation", long_name, "Running"]
    assert printed[0].index("NAME ") == printed[1].index(long_name)  # aligned as kubectl aligns
