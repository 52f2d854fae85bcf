"""The measured-slow list (tests/slowlist.py): which tests a --durations output makes slow, and
that the listed ones carry the marker."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import conftest, slowlist

OUTPUT = """\
============================= slowest durations ==============================
0.40s call     tests/a.py::test_one
0.10s setup    tests/a.py::test_two
0.06s call     tests/a.py::test_two
0.14s call     tests/b.py::test_three[x-1]
0.02s teardown tests/b.py::test_three[x-1]
(12 durations < 0.05s hidden.  Use -vv to show these durations.)
"""


def test_setup_call_and_teardown_are_added_per_test_against_the_threshold():
    assert slowlist.slow_in(OUTPUT, threshold=0.15) == {"tests/a.py::test_one", "tests/a.py::test_two",
                                                         "tests/b.py::test_three[x-1]"}
    assert slowlist.slow_in(OUTPUT, threshold=0.17) == {"tests/a.py::test_one"}


class _Item:
    """What the conftest's collection hook reads of a test item."""

    def __init__(self, nodeid: str) -> None:
        self.nodeid, self.path, self.markers = nodeid, Path(nodeid.split("::")[0]).resolve(), []

    def add_marker(self, marker: pytest.MarkDecorator) -> None:
        self.markers.append(marker.name)

    def get_closest_marker(self, name: str) -> str | None:
        return name if name in self.markers else None


def test_the_listed_tests_are_marked_slow_and_the_others_not(pytestconfig: pytest.Config):
    listed = sorted(slowlist.listed())
    assert listed, "tests/slow_tests.txt lists the measured-slow tests"
    items = [_Item(listed[0]), _Item("tests/test_slowlist.py::not_a_listed_test")]
    conftest.pytest_collection_modifyitems(pytestconfig, items)  # type: ignore[arg-type]
    assert [item.get_closest_marker("slow") for item in items] == ["slow", None]
