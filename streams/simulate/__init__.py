"""The simulator: a synthetic Tianma Street, its checkpoint traffic, the article's incidents.

``build_street`` makes the registers, ``generate_day`` the uploads of one day
(with the article's incidents and one scenario per rule injected),
``publish_master_data`` and ``publish_day``
put both on Kafka. Everything is deterministic from the seed.
"""

from streams.simulate.day import Traffic, generate_day
from streams.simulate.incidents import (
    Incident,
    article_incidents,
    origin_mismatch,
    wall_climbing,
)
from streams.simulate.publish import PublishStats, publish_day, publish_master_data
from streams.simulate.scenarios import day_incidents, lantern_flat, silent_gate
from streams.simulate.street import (
    LOCAL_DIVISIONS,
    WALL_CLIMB_ADDRESS,
    Community,
    Street,
    build_street,
    memory_master,
)

__all__ = [
    "LOCAL_DIVISIONS",
    "WALL_CLIMB_ADDRESS",
    "Community",
    "Incident",
    "PublishStats",
    "Street",
    "Traffic",
    "article_incidents",
    "build_street",
    "day_incidents",
    "generate_day",
    "lantern_flat",
    "memory_master",
    "origin_mismatch",
    "publish_day",
    "publish_master_data",
    "silent_gate",
    "wall_climbing",
]
