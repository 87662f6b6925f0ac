"""The register check agent: the county and the provincial register compared per person (反向纠察).

It reads ``person-records`` (keyed ``<register>|<ID number>``, their natural key) as a consumer
group, so each record is judged once across workers, and looks the other
register's record up in the local register store. A disagreement is a
re-check task for the person's grid; agreement resolves it through the alert
book, like any rule that knows its condition is over. The finding's event is
a synthetic ``register_check`` placed at the person's registered home, so the
task reaches the grid that can visit them.

The other side is read from the replicated store, which lags this topic by
moments: before each comparison the agent waits until the store holds every
person record published up to this one (``RegisterReplicator.settled``), so
of two records published together the second always sees the first. A
change is judged against the other register as it stood then
(``stood_then``): a worker catching up on a backlog opens the same tasks as
one that kept up.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from schemas import EnrichedEvent, PersonRecord, Place, RegisterName, Resident
from streams.agents.acking import handled
from streams.agents.context import Pipeline
from streams.codec import Rejected, decode_record, safe_error
from streams.findings import to_record
from streams.master import home_of
from streams.metrics import RECORDS_CONSUMED
from streams.privacy import mask_id
from streams.rules.register_mismatch import stood_then
from streams.rules.unregistered import registered_since

log = logging.getLogger(__name__)


def register(p: Pipeline) -> None:
    source = p.topics["person-records"]
    name = source.get_topic_name()

    async def process(stream: Any) -> None:
        await p.registers.caught_up.wait()
        async for event in handled(stream):
            msg = event.message
            RECORDS_CONSUMED.labels(topic=name).inc()
            key = msg.key.decode() if isinstance(msg.key, bytes) else ""
            register_name, _, id_number = key.partition("|")
            if register_name not in ("county", "provincial") or not id_number:
                await p.dead_letter(Rejected("schema_violation", "key is not <register>|<ID number>"), msg)
                continue
            person_key = p.keys.key(id_number)
            record: PersonRecord | None = None
            if msg.value is not None:
                decoded = decode_record(PersonRecord, msg.value)
                if isinstance(decoded, Rejected):
                    await p.dead_letter(decoded, msg)
                    continue
                record = decoded
            other_name: RegisterName = "provincial" if register_name == "county" else "county"
            # the other register's record may have been published just before this one
            if not await p.registers.settled("person-records", msg.timestamp or 0.0):  # Faust: epoch seconds
                log.warning("register store behind person-records; comparing what it holds")
            try:
                other = p.master.person_record(other_name, person_key)
                if not stood_then(record, other):
                    continue  # the other register changed since: its change is judged against this one
                county, provincial = (record, other) if register_name == "county" else (other, record)
                finding = p.engine.compare_registers(county, provincial, person_key=person_key)
                if finding is None:
                    continue
                resident = p.master.resident(person_key)
                place = home_of(resident) if resident is not None else Place()
                dwelling = resident.dwelling_id if resident is not None else ""
                # a deleted record has no time of its own: the other register's is still a register time
                known = record if record is not None else other
                at = known.updated_at if known is not None else datetime.now(UTC)
                check = EnrichedEvent(
                    event_id=f"register:{register_name}:{person_key}:{msg.offset}",
                    event_type="register_check",
                    event_time=at,
                    place=place,
                    subject_key=person_key,
                    subject_masked=mask_id(record.id_number) if record is not None else "",
                    home_dwelling_id=dwelling,
                    resident_known=bool(dwelling),
                )
                out = to_record(finding, check, detected_at=datetime.now(UTC))
            except Exception as exc:
                await p.dead_letter(Rejected("processing_error", safe_error(exc)), msg)
                continue
            await p.publish_finding(out)

    p.app.agent(source, name="gridwatch.register-check")(process)


def on_registered(p: Pipeline) -> Callable[[str, Resident, int], Awaitable[None]]:
    """A person newly registered at a compound resolves an open ``unregistered_person`` alert there.

    Every worker replicates the residents register, so every worker sends
    this (``registered_since`` says why that is safe and how its time counts).
    """
    version = p.engine.catalogue.spec("unregistered_person").version

    async def resolve(person_key: str, resident: Resident, offset: int) -> None:
        if "unregistered_person" not in p.engine.rule_ids:
            return
        now = datetime.now(UTC)
        finding, event = registered_since(person_key, resident, offset=offset, version=version, now=now)
        await p.publish_finding(to_record(finding, event, detected_at=now))

    return resolve
