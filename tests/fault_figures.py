"""The fault suite's figures: each fault test records what it tried and what went wrong.

The suite prints them as one table at the end of the run (and CI's log keeps it), so the
figures the issues ask for are read off a run, not written by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FaultFigure:
    """One fault case: items it put at risk, and how many were lost, doubled, or crashed."""

    case: str
    tried: int
    lost: int
    doubled: int
    crashes: int


@dataclass
class FaultFigures:
    """Every case recorded in this test session, in the order they ran."""

    rows: list[FaultFigure] = field(default_factory=list)

    def record(self, case: str, tried: int, lost: int, doubled: int, crashes: int) -> None:
        """Keep one case's figures (recorded before the test's asserts, so a failure shows)."""
        self.rows.append(FaultFigure(case, tried, lost, doubled, crashes))

    def table(self) -> list[str]:
        """The figures as aligned text lines, with a total row."""
        width = max(len(row.case) for row in self.rows)
        lines = [f"{'case':<{width}}  {'tried':>6}  {'lost':>5}  {'doubled':>7}  {'crashes':>7}"]
        for row in self.rows:
            lines.append(
                f"{row.case:<{width}}  {row.tried:>6}  {row.lost:>5}  {row.doubled:>7}"
                f"  {row.crashes:>7}"
            )
        sums = [
            sum(getattr(row, name) for row in self.rows)
            for name in ("tried", "lost", "doubled", "crashes")
        ]
        lines.append(f"{'total':<{width}}  {sums[0]:>6}  {sums[1]:>5}  {sums[2]:>7}  {sums[3]:>7}")
        return lines


FIGURES = FaultFigures()
