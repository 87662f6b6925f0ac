"""Master-data agents: validate each register record and apply it to its table.

A record that fails validation goes to the dead-letter topic instead of the
table, so a bad upstream row never poisons enrichment. A null value (Kafka
tombstone) deletes the entry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from schemas import Checkpoint, Compound, QuarantineOrder, Resident, RiskArea
from streams.agents.context import Pipeline
from streams.codec import Rejected, decode_record, safe_error
from streams.master import merge_risk
from streams.metrics import MASTER_UPDATES, RECORDS_CONSUMED
from streams.tables import RISK_HISTORY

log = logging.getLogger(__name__)


def register(p: Pipeline) -> None:
    keys = p.keys
    _master_agent(p, "residents", p.tables.residents, Resident, lambda r: keys.key(r.id_number))
    _master_agent(p, "compounds", p.tables.compounds, Compound, lambda c: c.compound_id)
    _master_agent(p, "checkpoints", p.tables.checkpoints, Checkpoint, lambda c: c.checkpoint_id)
    _master_agent(
        p, "quarantine-orders", p.tables.quarantine, QuarantineOrder, lambda q: keys.key(q.id_number)
    )
    _master_agent(p, "risk-areas", p.tables.risk_areas, RiskArea, lambda r: r.division_code, merge=_merge_risk)


def _merge_risk(old: bytes | None, new: BaseModel) -> bytes:
    assert isinstance(new, RiskArea)  # noqa: S101
    history = RISK_HISTORY.validate_json(old) if old else ()
    return RISK_HISTORY.dump_json(merge_risk(history, new))


def _master_agent(
    p: Pipeline,
    logical: str,
    table: Any,
    model: type[BaseModel],
    key_of: Callable[[Any], str],
    *,
    merge: Callable[[bytes | None, BaseModel], bytes] | None = None,
) -> None:
    topic = p.topics[logical]
    name = topic.get_topic_name()

    async def apply(stream: Any) -> None:
        async for event in stream.events():
            msg = event.message
            RECORDS_CONSUMED.labels(topic=name).inc()
            try:
                if msg.value is None:
                    if msg.key is not None and msg.key in table:
                        del table[msg.key]
                        MASTER_UPDATES.labels(table=logical, op="delete").inc()
                    continue
                record = decode_record(model, msg.value)
                if isinstance(record, Rejected):
                    await p.dead_letter(record, msg)
                    continue
                key = key_of(record).encode()
                table[key] = merge(table.get(key), record) if merge else msg.value
                MASTER_UPDATES.labels(table=logical, op="upsert").inc()
            except Exception as exc:  # one bad record must not stop the register
                why = safe_error(exc)
                log.error("master record %s[%s]@%s failed: %s", name, msg.partition, msg.offset, why)
                await p.dead_letter(Rejected("processing_error", why), msg)

    p.app.agent(topic, name=f"gridwatch.master.{logical}")(apply)
