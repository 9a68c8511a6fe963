"""Result objects in the style of ``scipy.stats``: named tuples with ``statistic`` and ``pvalue``."""

from typing import Any, NamedTuple


class TestResult(NamedTuple):
    """``statistic`` and ``pvalue``; arrays with one entry per column when the test runs over an axis."""

    statistic: Any
    pvalue: Any


TestResult.__test__ = False  # not a pytest test class
