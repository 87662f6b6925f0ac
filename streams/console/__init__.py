"""The command post's console: live alerts, acting on them, tracing, mustering and the day's report.

Where it runs, and why: chDB, the default store, admits one process per data
directory, and the worker's sink holds it. So with a ``chdb://`` store the
console runs inside the worker's process (``console.in_worker``, which
``gridwatch demo`` turns on), in a thread of its own with its own event loop,
so a page being served never sits in the Faust loop that carries the hot
path; its ClickHouse reads open a second client on the same in-process
engine. With an ``http(s)://`` server DSN, ``gridwatch console`` runs it as
a process of its own.

Either way its alerts come from the ``alerts`` topic, read from the start by
a consumer of its own (no consumer group), so one console sees every
worker's alerts, and a reconnecting page gets a full snapshot from it. What an
operator does goes out as an ``AlertAction`` on ``alert-actions``; the page
shows the result only when the alert book's new revision comes back on
``alerts``.

Modules: ``operators`` (accounts, hashed passwords, roles), ``session``
(signed cookies, CSRF tokens), ``board`` (the live list's state and filters,
pure), ``feed`` (alerts topic → board, actions → topic), ``queries``
(tracing, roll call, the day's report), ``audit`` (who did and asked what),
``pages`` (HTML), ``web`` (the aiohttp application), ``server`` (running it).
"""
