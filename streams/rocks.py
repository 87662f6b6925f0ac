"""RocksDB options shared by the worker's two kinds of store (the registers, the tables off the heap).

RocksDB's defaults are tuned for a server with memory to spare: a 64 MB
memtable, two of them, per database. Loading 1,000,000 register records of
about 330 bytes left 100 MB of RSS in memtables with the defaults and 40 MB
with 16 MB ones (one process each, writes then 200,000 random reads). The
worker's RSS target is 1 GB with a million residents, so every store here
takes the smaller memtable; the block cache holds what was read lately.
"""

from __future__ import annotations

from rocksdict import BlockBasedOptions, Cache, Options

WRITE_BUFFER_BYTES = 16 * 1024 * 1024
"""The memtable a database fills before it writes a file (two at most): what a store adds to RSS as it is written."""
BLOOM_BITS = 10
"""Bits per key of every store's bloom filters (about 1.2 MB per million keys). Most lookups on the hot path
are for keys that are absent (a quarantine order or a visit nobody has, a person with no rule state yet), and a
store just loaded holds its records in several levels of files, each of which such a lookup otherwise searches:
enrichment over the register store at a million residents took 0.79 to 0.92 times as long with them
(``bench-results/pairs-2026-12-07g``); a worker at that size drained and restarted as fast with them and kept up
with 2,000 events/s where it did not without (``bench-results/pairs-2026-12-07j``, one run each)."""


def options(*, block_cache_bytes: int | None = None) -> Options:
    """Raw-mode options (keys and values are bytes) with the small memtable and bloom filters; a block cache of
    its own if asked, else RocksDB's default."""
    opts = Options(raw_mode=True)
    opts.create_if_missing(True)
    opts.set_write_buffer_size(WRITE_BUFFER_BYTES)
    opts.set_max_write_buffer_number(2)
    table = BlockBasedOptions()
    table.set_bloom_filter(BLOOM_BITS, False)
    if block_cache_bytes is not None:
        table.set_block_cache(Cache(block_cache_bytes))
    opts.set_block_based_table_factory(table)
    return opts
