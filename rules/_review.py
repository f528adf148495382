"""Shared judgement of "reviewed within the interval" for the governance rules."""

from datetime import date

from scanner.rule import Status


def review_verdict(
    last_reviewed: date | None, today: date, interval_days: int, what: str
) -> tuple[Status, str]:
    """PASS when ``last_reviewed`` is at most ``interval_days`` old; a missing or future date fails."""
    if last_reviewed is None:
        return Status.FAIL, f"{what} has no last_reviewed date; review it and record the date."
    if last_reviewed > today:
        return Status.FAIL, f"{what} last_reviewed ({last_reviewed.isoformat()}) is in the future."
    age = (today - last_reviewed).days
    if age > interval_days:
        return (
            Status.FAIL,
            f"{what} was last reviewed {age} days ago ({last_reviewed.isoformat()}), "
            f"more than the {interval_days}-day review interval.",
        )
    return Status.PASS, f"{what} was reviewed {age} days ago ({last_reviewed.isoformat()})."
