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


def options(*, block_cache_bytes: int | None = None, bloom_bits: int | None = None) -> Options:
    """Raw-mode options (keys and values are bytes) with the small memtable; a block cache of its own and a
    bloom filter (bits per key) if asked, else RocksDB's defaults for both."""
    opts = Options(raw_mode=True)
    opts.create_if_missing(True)
    opts.set_write_buffer_size(WRITE_BUFFER_BYTES)
    opts.set_max_write_buffer_number(2)
    if block_cache_bytes is not None or bloom_bits is not None:
        table = BlockBasedOptions()
        if bloom_bits is not None:
            table.set_bloom_filter(bloom_bits, False)
        if block_cache_bytes is not None:
            table.set_block_cache(Cache(block_cache_bytes))
        opts.set_block_based_table_factory(table)
    return opts
