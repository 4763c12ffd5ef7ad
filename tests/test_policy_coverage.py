"""docs/policy-coverage.md is generated and up to date; every rule quotes its clause faithfully or is a labelled assumption."""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from pathlib import Path

import pytest

from planner.rulefile import builtin_names, load_rules

REPO = Path(__file__).resolve().parents[1]


def _load_generator():
    spec = importlib.util.spec_from_file_location("make_policy_coverage", REPO / "docs" / "make_policy_coverage.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_policy_coverage"] = module
    spec.loader.exec_module(module)
    return module


gen = _load_generator()
CLAUSES = gen.load_clauses()
TEXT = {(doc["file"][:3], c["id"]): c["text"] for doc in CLAUSES for c in doc["clause"]}


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_the_committed_page_is_the_generators_output() -> None:
    page = (REPO / "docs" / "policy-coverage.md").read_text(encoding="utf-8")
    assert page == gen.build(), "docs/policy-coverage.md is out of date: run python docs/make_policy_coverage.py"


def test_the_clause_list_is_well_formed() -> None:
    seen = set()
    for doc in CLAUSES:
        for c in doc["clause"]:
            key = (doc["file"], c["id"])
            assert key not in seen, key
            seen.add(key)
            assert c["status"] in gen.STATUSES and c["text"] and c["why"] and c["topic"], key
    assert {doc["file"][:3] for doc in CLAUSES} == {"000", "001", "002", "003", "004"}


@pytest.mark.parametrize("name", builtin_names())
def test_every_rule_quotes_its_clause_verbatim_or_is_a_labelled_assumption(name: str) -> None:
    for rule in load_rules(name).rules:
        if rule.is_assumption:
            continue
        doc, ids = gen.clause_refs(rule.citation)
        assert ids and all((doc, cid) in TEXT for cid in ids), f"{name}:{rule.id} cites {rule.citation}, not in the clause list"
        sources = [_squash(TEXT[doc, cid]) for cid in ids]
        quotes = [(rule.id, rule.quote)] + [(f"{rule.id}/{e.name}", e.quote) for e in getattr(rule, "exceptions", [])]
        for who, quote in quotes:
            if who == rule.id:
                assert quote, f"{name}:{rule.id} has no quote"
            for piece in gen.quote_pieces(quote):
                assert any(piece in s for s in sources), f"{name}:{who}: {piece!r} is not in {rule.citation}"


def test_the_generator_reads_whatever_the_registry_and_rule_files_hold() -> None:
    from typing import Literal

    from planner.rules import RULE_KINDS, Rule
    from planner.rules.base import register

    @register
    class CircuitCare(Rule):
        """Mobile clinics reach every village (a kind another engineer might add)."""

        kind: Literal["circuit_care_probe"] = "circuit_care_probe"
        visits_per_week: int = 1

    try:
        rule = CircuitCare(id="villages.circuit", source="000_daed78e4f2e6cfdf.txt (四)", quote="全面推行")

        class Probe:
            name = "probe-file"
            rules = (rule,)

        page = gen.build([Probe()])
        assert "| `circuit_care_probe` | communities | Mobile clinics reach every village" in page
        assert "`probe-file:villages.circuit` (circuit_care_probe)" in page
    finally:
        del RULE_KINDS["circuit_care_probe"]


def _seeds() -> Path | None:
    for candidate in (os.environ.get("PLANNER_SEEDS_DIR"), REPO.parent / "shared" / "seeds", REPO.parents[1] / "shared" / "seeds"):
        if candidate and (Path(candidate) / "000_daed78e4f2e6cfdf.txt").exists():
            return Path(candidate)
    return None


@pytest.mark.skipif(_seeds() is None, reason="the policy texts are not in the repository: set PLANNER_SEEDS_DIR to check "
                                              "the clause list against them")
def test_every_excerpt_is_verbatim_in_its_document() -> None:
    seeds = _seeds()
    for doc in CLAUSES:
        text = _squash((seeds / doc["file"]).read_text(encoding="utf-8"))
        for c in doc["clause"]:
            for piece in gen.quote_pieces(c["text"]):
                assert piece in text, f"{doc['file']} {c['id']}: {piece[:40]!r}… is not in the document"
