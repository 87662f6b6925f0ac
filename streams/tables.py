"""The worker's master-data tables, and the MasterData view the rules read.

Every table is a Faust GlobalTable backed by RocksDB (rocksdict) and a
changelog topic: each worker holds the whole register, so events keyed by
checkpoint can be enriched without a stream-table join (Faust has none) and
without repartitioning. RocksDB keeps a restarted worker from replaying the
changelog from the beginning. Values are the validated JSON bytes; decoding
happens on lookup, and the small, hot tables keep a decoded copy keyed by
the stored bytes so the hot path does not decode a checkpoint per event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import faust
from pydantic import TypeAdapter

from schemas import Checkpoint, Compound, QuarantineOrder, Resident, RiskArea

RISK_HISTORY = TypeAdapter(tuple[RiskArea, ...])


@dataclass(frozen=True, slots=True)
class Tables:
    residents: Any
    compounds: Any
    checkpoints: Any
    quarantine: Any
    risk_areas: Any


def create_tables(app: faust.App, *, partitions: int) -> Tables:
    def table(name: str, help_: str) -> Any:
        return app.GlobalTable(
            name,
            key_type=bytes,
            value_type=bytes,
            partitions=partitions,
            # every worker consumes every changelog partition, so each holds the whole register
            synchronize_all_active_partitions=True,
            help=help_,
        )

    return Tables(
        residents=table("residents", "Resident register by person key."),
        compounds=table("compounds", "Compounds by id."),
        checkpoints=table("checkpoints", "Checkpoints by id."),
        quarantine=table("quarantine", "Active home-quarantine orders by person key."),
        risk_areas=table("risk-areas", "Risk-colour history by division code."),
    )


class TableMaster:
    """MasterData over the Faust tables (see ``streams.master.MasterData``)."""

    def __init__(self, tables: Tables) -> None:
        self._t = tables
        self._decoded: dict[bytes, Any] = {}

    def _cached(self, raw: bytes | None, model: Any) -> Any:
        # Bounded by the size of the small tables (checkpoints, compounds, risk areas).
        if raw is None:
            return None
        hit = self._decoded.get(raw)
        if hit is None:
            hit = model.validate_json(raw) if isinstance(model, TypeAdapter) else model.model_validate_json(raw)
            if len(self._decoded) > 50_000:
                self._decoded.clear()
            self._decoded[raw] = hit
        return hit

    def resident(self, person_key: str) -> Resident | None:
        raw = self._t.residents.get(person_key.encode())
        return Resident.model_validate_json(raw) if raw is not None else None

    def checkpoint(self, checkpoint_id: str) -> Checkpoint | None:
        return self._cached(self._t.checkpoints.get(checkpoint_id.encode()), Checkpoint)  # type: ignore[no-any-return]

    def compound(self, compound_id: str) -> Compound | None:
        return self._cached(self._t.compounds.get(compound_id.encode()), Compound)  # type: ignore[no-any-return]

    def quarantine(self, person_key: str) -> QuarantineOrder | None:
        raw = self._t.quarantine.get(person_key.encode())
        return QuarantineOrder.model_validate_json(raw) if raw is not None else None

    def risk_history(self, division_code: str) -> tuple[RiskArea, ...]:
        raw = self._t.risk_areas.get(division_code.encode())
        return self._cached(raw, RISK_HISTORY) if raw is not None else ()
