"""Service rule kinds read their keys strictly: titles, shares, weights, sources."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from planner.rules.service import AttendingDispatch, DialysisSiting, ExpertDispatch, ReservedCapacity
from planner.vocabulary import Grade, Title

SRC = "000_daed78e4f2e6cfdf.txt (四)"


def test_attending_dispatch_reads_chinese_titles_and_rejects_negative_weights() -> None:
    rule = AttendingDispatch(id="a", source=SRC, min_title="副主任医师", specialty_weights={"儿科": 30})
    assert rule.min_title is Title.ASSOCIATE_CHIEF
    with pytest.raises(ValidationError, match="weights must be >= 0"):
        AttendingDispatch(id="a", source=SRC, specialty_weights={"儿科": -1})
    with pytest.raises(ValidationError, match="release_share"):
        AttendingDispatch(id="a", source=SRC, release_share=1.5)


def test_expert_dispatch_defaults_to_public_tertiary_city_hospitals() -> None:
    rule = ExpertDispatch(id="e", source=SRC)
    # The clause sets no rank (a file may set one, as a labelled assumption) and names four professions.
    assert rule.min_per_community == 3 and rule.min_title is None and rule.title_floor() is Title.RESIDENT
    assert rule.professions == ["medicine", "pharmacy", "nursing", "management"] and not rule.same_city
    assert rule.sources.min_grade is Grade.L3 and [o.value for o in rule.sources.ownership] == ["public"]


def test_dialysis_siting_and_reserved_capacity_defaults_follow_the_policies() -> None:
    assert DialysisSiting(id="d", source=SRC).min_county_population == 200_000
    cap = ReservedCapacity(id="c", source="003_fbf63bb5f501bc23.txt 9.")
    assert cap.scope == "city" and cap.bed_share == 0.25 and abs(cap.outpatient_share - 1 / 3) < 1e-9
    with pytest.raises(ValidationError, match="scope"):
        ReservedCapacity(id="c", source="x", scope="county")
