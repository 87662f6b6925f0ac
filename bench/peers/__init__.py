"""Peers for the throughput benchmark: what a user might write instead of our worker.

Each peer runs the same pure logic as the worker (``Enricher``,
``Engine``, ``build_alert``) inside a different streaming framework, so
the benchmark compares frameworks and their idioms, not business logic. Run
one as ``python -m bench.peers.<name> --help``; the shared command line and
the result file are in ``bench.peers.common``.
"""
