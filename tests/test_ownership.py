"""Which partitions a worker judges and folds in-process: its active assignment, only while Faust's flow runs."""

from __future__ import annotations

from dataclasses import dataclass, field

from faust.types import TP

from streams.agents.delivery import Ownership


@dataclass
class Flow:
    active: bool = True

    def is_active(self) -> bool:
        return self.active


@dataclass
class Assignor:
    actives: set[TP] = field(default_factory=set)

    def assigned_actives(self) -> set[TP]:
        return set(self.actives)


@dataclass
class FakeApp:
    assignor: Assignor
    flow_control: Flow = field(default_factory=Flow)


def app_owning(*tps: TP) -> FakeApp:
    return FakeApp(Assignor(set(tps)))


def test_a_partition_counts_as_owned_only_where_every_named_topic_of_it_is_active_here() -> None:
    app = app_owning(TP("rule-input", 0), TP("rule-input", 1), TP("state-changelog", 1), TP("state-changelog", 2))
    assert Ownership(app).partitions("rule-input", "state-changelog") == {1}


def test_nothing_is_owned_while_a_rebalance_or_a_stop_has_suspended_the_flow() -> None:
    app = app_owning(TP("rule-input", 0), TP("state-changelog", 0))
    ownership = Ownership(app)
    assert ownership.partitions("rule-input", "state-changelog") == {0}
    app.flow_control.active = False
    assert ownership.partitions("rule-input", "state-changelog") == frozenset()


def test_with_in_process_off_nothing_is_owned() -> None:
    app = app_owning(TP("rule-input", 0), TP("state-changelog", 0))
    assert Ownership(app, enabled=False).partitions("rule-input", "state-changelog") == frozenset()
