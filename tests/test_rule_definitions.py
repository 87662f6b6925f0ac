"""Each rule is defined once, in its own module; the catalogue, the engine and the worker's tables read that."""

from __future__ import annotations

from typing import Any

from schemas import Severity
from streams.agents.tables import BUNDLES, STATE_MODELS
from streams.catalogue import load_catalogue
from streams.engine import Engine
from streams.rules import RULE_IDS, RULES
from streams.rules.definition import person_bundle
from streams.rules.state import MemoryState


def test_the_shipped_catalogue_lists_exactly_the_defined_rules_in_their_order() -> None:
    assert tuple(spec.id for spec in load_catalogue().rules) == RULE_IDS
    assert len(set(RULE_IDS)) == len(RULE_IDS) == 14


def test_the_shipped_catalogue_describes_the_version_and_severity_each_rule_defines() -> None:
    catalogue = load_catalogue()
    for definition in RULES:
        spec = catalogue.spec(definition.id)
        assert (spec.id, spec.version, spec.severity) == (definition.id, definition.version, definition.severity)
        assert type(spec.params) is definition.params


def test_every_state_the_engine_asks_for_has_a_model_and_a_bundle_from_its_rules_definition() -> None:
    asked: list[str] = []

    def states(name: str) -> MemoryState[Any]:
        asked.append(name)
        return MemoryState()

    Engine(load_catalogue(), states=states)
    declared = {name for d in RULES for name in d.states}
    assert sorted(asked) == sorted(declared)
    assert declared <= STATE_MODELS.keys() and declared <= BUNDLES.keys()


def test_a_persons_rule_states_share_one_bundle_and_the_pending_index_has_its_own() -> None:
    assert BUNDLES["fever"]("pk1") == BUNDLES["impossible_travel"]("pk1") == person_bundle("pk1") == "person|pk1"
    assert BUNDLES["bypass_entry"]("pk1|c7") == "person|pk1"
    assert BUNDLES["bypass_pending"]("3") == "pending|3"
    assert BUNDLES["dwelling_overcrowded"]("d1") == "dwelling|d1"
    assert BUNDLES["silent_checkpoint"]("cp1") == "checkpoint|cp1"


def test_a_graded_rule_names_the_levels_it_raises_to() -> None:
    levels = {d.id: d.raised_levels() for d in RULES}
    assert levels["health_code"] == {"red_severity": Severity.CRITICAL}
    assert levels["origin_mismatch"] == {"yellow_area_severity": Severity.HIGH, "red_area_severity": Severity.CRITICAL}
    assert levels["fever"] == {}
