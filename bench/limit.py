"""The limit: a bare aiokafka loop that consumes, decodes and produces, nothing else.

This is what the Kafka client itself can do on this machine over the same
input; the pipeline's throughput is quoted as a ratio to it. Run as a
subprocess so it has a core to itself, like the worker.

    python -m bench.limit --bootstrap H:P --topic T --out-topic T2 --events N --result R.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer


async def run(bootstrap: str, topic: str, out_topic: str, events: int, group: str) -> dict[str, float]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest",
        enable_auto_commit=False, max_partition_fetch_bytes=8 * 1024 * 1024, fetch_max_bytes=64 * 1024 * 1024,
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, max_batch_size=1024 * 1024, acks=1)
    await consumer.start()
    await producer.start()
    seen = records = 0
    first = 0.0
    try:
        while seen < events:
            batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
            for msgs in batches.values():
                for msg in msgs:
                    if not first:
                        first = time.time()
                    doc = json.loads(msg.value)  # decode: the same JSON the pipeline decodes
                    seen += len(doc["events"])
                    records += 1
                    await producer.send(out_topic, msg.value, key=msg.key)
        await producer.flush()
        done = time.time()
    finally:
        await producer.stop()
        await consumer.stop()
    return {"events": seen, "records": records, "elapsed_s": done - first, "eps": seen / (done - first)}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.limit")
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--out-topic", required=True)
    parser.add_argument("--events", type=int, required=True)
    parser.add_argument("--group", default="bench-limit")
    parser.add_argument("--result", required=True)
    args = parser.parse_args()
    result = asyncio.run(run(args.bootstrap, args.topic, args.out_topic, args.events, args.group))
    Path(args.result).write_text(json.dumps(result))
    print(f"limit: {result['events']:,} events in {result['elapsed_s']:.2f} s = {result['eps']:,.0f} ev/s",
          file=sys.stderr)


if __name__ == "__main__":
    main()
