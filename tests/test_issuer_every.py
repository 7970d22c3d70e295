"""``issuer.context.Every``: housekeeping a request does when due (issue 15), by the node's clock."""

from __future__ import annotations

from issuer.context import Every


def test_due_at_most_once_per_interval_and_at_once_after_a_clock_set_back() -> None:
    every = Every(10)
    assert [every(t) for t in (100, 100, 105, 109)] == [True, False, False, False]
    assert every(110) and not every(119) and every(120)
    assert every(50)  # the clock went back: due now, not in 70 seconds
    assert not every(59) and every(60)
