"""Latency as operations feel it: from the event that caused an alert revision to that revision on the topic.

Two measurements against a running worker, both timed by one listener on the
``alerts`` topic:

* **the curve**: a street-like load (the simulator's traffic, continuing the
  backlog's timeline (``bench.traffic``), whose own alerts come from many
  subjects, places and rules) plus a probe stream (a
  fever or a red code for a different resident at their own gate every
  ``PROBE_EVERY`` uploads), offered at each rate in turn; per point the
  achieved rate and p50/p95/p99/max. The curve stops at the first point the
  worker cannot keep up with (it would only measure a growing queue);
* **the idle probe**: one event at a time on an idle worker, each raising one
  alert, the next sent once its alert has arrived.

Each revision is timed from the send time of the newest event it names (the
last of ``event_ids``: the event that made this revision), never from an
older one: a repeat 15 s into a load is as late as its own event, not as the
alert's first. Revisions made by the event-time clock rather than by an
event (``silent_checkpoint``; ``bypass_entry``, which holds a sighting until
the watermark is ``confirm_after`` past it) and ``expired`` revisions (the
new alert's ``opened`` revision times that event) are left out, and counted.
So are plain ``repeated`` revisions when the worker coalesces repeats
(``alerts.repeat_interval_s`` > 0): the book holds those back on purpose and
publishes the count once per interval; any other change goes out at once and
is timed.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from bench.traffic import Timeline
from schemas import EventBatch, HealthCode, Passage
from streams.simulate import Street

CURVE_EPS: tuple[int, ...] = (500, 1_000, 2_000, 5_000, 10_000, 20_000)
TIMED_BY_CLOCK = frozenset({"silent_checkpoint", "bypass_entry"})
"""Rules whose revisions the event-time clock makes, not an event: their delay is by design."""
PROBE_EVERY = 20
"""One probe event per this many uploads in the curve's load."""
SATURATED_BELOW = 0.9
"""A point whose achieved rate is below this share of the offered rate is saturated: the curve stops there."""


def percentiles(samples: list[float]) -> dict[str, float | None]:
    """p50, p95, p99 and max of ``samples`` (nearest rank); None where there are no samples, never NaN."""
    if not samples:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    s = sorted(samples)

    def rank(p: float) -> float:
        return s[min(len(s) - 1, int(p / 100 * len(s)))]

    return {"p50": rank(50), "p95": rank(95), "p99": rank(99), "max": s[-1]}


@dataclass
class AlertListener:
    """Every alert revision from the moment it starts, with the time it was received (wall clock)."""

    bootstrap: str
    topic: str
    revisions: list[tuple[dict[str, Any], float]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False,
                                       fetch_max_wait_ms=50)
        parts = [TopicPartition(self.topic, p) for p in self._consumer.partitions_for_topic(self.topic) or ()]
        self._consumer.assign(parts)
        self._consumer.seek_to_end(*parts)
        for tp in parts:  # resolve the positions now, so nothing published from here on is missed
            self._consumer.position(tp)
        self._thread = threading.Thread(target=self._listen, name="alert-listener", daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        while not self._stop.is_set():
            for records in self._consumer.poll(timeout_ms=50).values():
                now = time.time()
                with self._lock:
                    self.revisions.extend((json.loads(rec.value), now) for rec in records)

    def since(self, start: int) -> list[tuple[dict[str, Any], float]]:
        with self._lock:
            return self.revisions[start:]

    def count(self) -> int:
        with self._lock:
            return len(self.revisions)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._consumer.close()


def time_revisions(revisions: list[tuple[dict[str, Any], float]], sent: dict[str, float], *,
                   repeats_coalesced: bool = False) -> dict[str, Any]:
    """Milliseconds from each revision's newest event's send time to its arrival, and what was left out."""
    samples: list[float] = []
    by_clock = expired = unsent = coalesced = 0
    for alert, received in revisions:
        if alert["rule_id"] in TIMED_BY_CLOCK:
            by_clock += 1
            continue
        if alert.get("change") == "expired":
            expired += 1
            continue
        if repeats_coalesced and alert.get("change") == "repeated":
            coalesced += 1
            continue
        cause = alert["event_ids"][-1]
        if cause not in sent:  # an event of an earlier phase
            unsent += 1
            continue
        samples.append((received - sent[cause]) * 1000)
    return {"samples": samples, "left_out": {"timed_by_clock": by_clock, "expired": expired, "not_sent_here": unsent,
                                             "coalesced_repeats": coalesced}}


class ProbeSubjects:
    """Who each probe is: a different resident every time, at a gate of their own compound.

    Two probes of one person within ``alerts.repeat_interval_s`` make the second a repeat the worker holds
    back by design (up to 30 s), which the probe would then time as a late alert. Stepping through the
    eligible residents by a prime stride spreads the probes over the register and repeats no one until
    every eligible resident has been a probe once.
    """

    def __init__(self, street: Street) -> None:
        self.eligible = [k for k in range(len(street.residents))
                         if street.compound_checkpoints[street.resident_compound[k]]]
        if not self.eligible or len(self.eligible) % 7919 == 0:
            raise ValueError(f"no stride through {len(self.eligible)} eligible probe subjects")
        self.taken = 0

    def take(self) -> tuple[int, int]:
        """(the probe's ordinal in the run, the resident's index)."""
        ordinal = self.taken
        self.taken += 1
        return ordinal, self.eligible[(ordinal * 7919) % len(self.eligible)]


def _probe_event(street: Street, subjects: ProbeSubjects, at: datetime) -> tuple[str, Passage]:
    """A passage of the next probe subject at a gate of their own compound that raises one alert:
    a fever (the stateful path) for even ordinals, a red health code (a per-event rule) for odd."""
    i, k = subjects.take()
    resident = street.residents[k]
    checkpoint = street.checkpoints[street.compound_checkpoints[street.resident_compound[k]][0]].checkpoint_id
    kind = "fever" if i % 2 == 0 else "health_code"
    event = Passage(
        event_id=f"probe-{at:%Y%m%d}-{i:06d}", event_time=at, checkpoint_id=checkpoint, direction="in",
        id_number=resident.id_number, temperature_c=38.6 if kind == "fever" else 36.5,
        health_code=HealthCode.RED if kind == "health_code" else HealthCode.GREEN,
    )
    return checkpoint, event


class Sender:
    """Publishes uploads and remembers each event's send time (wall clock)."""

    def __init__(self, producer: KafkaProducer, topic: str) -> None:
        self.producer = producer
        self.topic = topic
        self.sent: dict[str, float] = {}

    def send(self, batch: EventBatch) -> None:
        value = batch.model_dump_json().encode()
        now = time.time()
        for e in batch.events:
            self.sent[e.event_id] = now
        self.producer.send(self.topic, key=batch.source.encode(), value=value)


QUIET_S = 2.0
"""The idle probe starts once the worker has consumed nothing new for this long."""
WARM_UP = 5
"""Probes sent and awaited before the timed ones: the worker's first alerts after a quiet spell."""


PROBE_AFTER = timedelta(seconds=1)
"""The idle probe's first event comes this long (in event time) after the last event of the load."""


def idle_probe_start(last: datetime | None) -> datetime:
    """The event time of the idle probe's first event: the street's clock goes on from the load's last event.

    It used to jump to noon of the next day, so that none of the probe's events was late. A day without a
    single scan then passed on the worker's event-time clock as soon as every events partition had seen a
    probe: every checkpoint at once was silent (78 ``silent_checkpoint`` openings at the 100,000-resident
    street, arriving with one probe's alert), and the probe whose event moved the watermark, often with the
    one after it, carried that burst. An early probe was among the phase's three slowest in every run since
    7 December (47 to 77 ms against a p50 of 25; probes 2, 3, 5, 6, 11 or 12, by where the subjects' gates
    hash), and was its p99 in most of them. The probe measures one event's way to its alert on an
    idle worker; going on from the load keeps the watermark moving by seconds, as on a street, and the
    events are still never late (they come after everything the load sent).
    """
    if last is None:  # no load before the probe
        return datetime(2020, 6, 1, 12, tzinfo=UTC)
    return last + PROBE_AFTER


def _wait(condition: Callable[[], bool], timeout: float, every: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return condition()


def _load(timeline: Timeline, street: Street, subjects: ProbeSubjects, *, events: int) -> Iterator[EventBatch]:
    """The next ``events`` of the street's traffic with a probe every ``PROBE_EVERY`` uploads."""
    for i, batch in enumerate(timeline.take(events)):
        if i % PROBE_EVERY == 0:
            source, probe = _probe_event(street, subjects, batch.events[-1].event_time)
            yield EventBatch(batch_id=f"{batch.batch_id}-probe", source=source, events=(probe,))
        yield batch


@dataclass
class LatencyRun:
    """One worker under measurement: where to send, how to read its progress."""

    street: Street
    timeline: Timeline
    """Where the backlog stopped: the curve's load goes on from there."""
    producer: KafkaProducer
    events_topic: str
    listener: AlertListener
    consumed: Callable[[], float]
    """The worker's count of events consumed (from its /metrics)."""
    say: Callable[[str], None] = print
    repeats_coalesced: bool = False
    """The worker holds plain repeats back (``alerts.repeat_interval_s`` > 0): they are counted, not timed."""

    def __post_init__(self) -> None:
        self.subjects = ProbeSubjects(self.street)

    def point(self, offered_eps: int, seconds: float) -> dict[str, Any]:
        """Offer ``offered_eps`` for ``seconds``; wait until the worker consumed it all and every probe alerted."""
        n_target = max(1, int(offered_eps * seconds))
        sender = Sender(self.producer, self.events_topic)
        start_count = self.listener.count()
        consumed_before = self.consumed()
        probes: list[str] = []
        t0 = time.monotonic()
        wall0 = time.time()
        sent_events = 0
        for batch in _load(self.timeline, self.street, self.subjects, events=n_target):
            wait = t0 + sent_events / offered_eps - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            sender.send(batch)
            sent_events += len(batch.events)
            if batch.batch_id.endswith("-probe"):
                probes.append(batch.events[0].event_id)
        self.producer.flush()
        offered_s = time.monotonic() - t0

        drain_timeout = max(120.0, 6 * seconds)
        consumed_all = _wait(lambda: self.consumed() - consumed_before >= sent_events, drain_timeout)
        drained_at = time.time()
        wanted = set(probes)

        def probes_alerted() -> bool:
            seen = {a["event_ids"][-1] for a, _ in self.listener.since(start_count)}
            return wanted <= seen

        all_probes = _wait(probes_alerted, drain_timeout)
        time.sleep(0.5)  # a grace for further revisions of the same events; nothing is judged on it
        timed = time_revisions(self.listener.since(start_count), sender.sent,
                               repeats_coalesced=self.repeats_coalesced)
        achieved = sent_events / max(drained_at - wall0, offered_s, 1e-9)
        pcts = percentiles(timed["samples"])
        point = {"offered_eps": sent_events / offered_s, "target_eps": offered_eps, "achieved_eps": achieved,
                 **pcts, "events": sent_events, "revisions_timed": len(timed["samples"]),
                 "probes": len(probes), "probes_alerted": all_probes, "consumed_all": consumed_all,
                 "left_out": timed["left_out"],
                 "saturated": (not consumed_all) or achieved < SATURATED_BELOW * offered_eps}
        self.say(f"  {offered_eps:,} ev/s offered: achieved {achieved:,.0f} ev/s, {len(timed['samples'])} revisions, "
                 f"p50 {_ms(pcts['p50'])}, p99 {_ms(pcts['p99'])}, max {_ms(pcts['max'])}"
                 + (" (saturated)" if point["saturated"] else ""))
        return point

    def curve(self, rates: tuple[int, ...], seconds: float) -> list[dict[str, Any]]:
        points = []
        for eps in rates:
            point = self.point(eps, seconds)
            points.append(point)
            if point["saturated"]:
                break
        return points

    def probe(self, n: int, timeout: float = 60.0) -> dict[str, Any]:
        """``n`` single events on an idle worker, one at a time, each raising one alert.

        Idle means idle: the probe follows the curve's last (often saturated) point, and the worker's first
        seconds after it still go to what that burst left (the sink's last rows, chDB merging them). So it
        waits until the worker has consumed nothing new for ``QUIET_S`` and then sends ``WARM_UP`` probes it
        does not time. Its events go on from the load's last event time (``idle_probe_start``), so the probe
        is the last phase to take from its timeline.
        """
        self._until_quiet()
        sender = Sender(self.producer, self.events_topic)
        samples: list[float] = []
        ins: list[float] = []
        outs: list[float] = []
        ordinals: list[int] = []
        missed = 0
        at = idle_probe_start(self.timeline.last_time)
        for i in range(-WARM_UP, n):
            start_count = self.listener.count()
            source, event = _probe_event(self.street, self.subjects, at + timedelta(seconds=i + WARM_UP))
            sender.send(EventBatch(batch_id=f"idle-probe-{i:05d}", source=source, events=(event,)))
            self.producer.flush()

            def arrived(eid: str = event.event_id, start: int = start_count) -> list[tuple[dict[str, Any], float]]:
                return [(a, r) for a, r in self.listener.since(start) if a["event_ids"][-1] == eid]

            if not _wait(lambda: bool(arrived()), timeout, every=0.001):
                if i >= 0:
                    missed += 1
                continue
            if i >= 0:
                alert, received = min(arrived(), key=lambda ar: ar[1])
                sent = sender.sent[event.event_id]
                samples.append((received - sent) * 1000)
                ordinals.append(i)
                made = probe_split(alert, sent, received)
                ins.append(made[0])
                outs.append(made[1])
        pcts = percentiles(samples)
        into, out_of = percentiles(ins), percentiles(outs)
        self.say(f"  idle probe, {n} events: p50 {_ms(pcts['p50'])}, p99 {_ms(pcts['p99'])}, max {_ms(pcts['max'])}"
                 + (f", {missed} without an alert" if missed else "")
                 + f"; sent to revision made p50 {_ms(into['p50'])}, p99 {_ms(into['p99'])}; made to arrival "
                   f"p50 {_ms(out_of['p50'])}, p99 {_ms(out_of['p99'])}")
        return {"p50": pcts["p50"], "p99": pcts["p99"], "max": pcts["max"], "events": n, "alerted": len(samples),
                "missed": missed,
                "sent_to_made_ms": {k: into[k] for k in ("p50", "p99", "max")},
                "made_to_arrival_ms": {k: out_of[k] for k in ("p50", "p99", "max")},
                "slowest": sorted(({"probe": k, "ms": ms, "sent_to_made_ms": a, "made_to_arrival_ms": b}
                                   for k, ms, a, b in zip(ordinals, samples, ins, outs, strict=True)),
                                  key=lambda p: -p["ms"])[:5]}

    def _until_quiet(self, limit_s: float = 60.0) -> None:
        """Until the worker's consumed count has not moved for ``QUIET_S`` (at most ``limit_s``)."""
        deadline = time.monotonic() + limit_s
        last, since = self.consumed(), time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - since < QUIET_S:
            time.sleep(0.1)
            now = self.consumed()
            if now != last:
                last, since = now, time.monotonic()


def probe_split(alert: dict[str, Any], sent: float, received: float) -> tuple[float, float]:
    """A probe's delay in two (ms): from its send to the worker making the revision (the broker, the worker's
    fetch and take, the work), and from there to its arrival on ``alerts`` (the producer's linger, the broker,
    the listener). The worker and the benchmark share this machine's clock."""
    made = datetime.fromisoformat(alert.get("updated_at") or alert["detected_at"]).timestamp()
    return (made - sent) * 1000, (received - made) * 1000


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.1f} ms"
