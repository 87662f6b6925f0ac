"""A synthetic Tianma Street (天马街道, 常山县, division 330822) built from the brief's numbers.

The pipeline's rules, tables and reports are tested against this street, so it
is deterministic (the same seed gives the same street, field for field) and
its counts are the article's: 54 large and 108 small grids, 86 checkpoints,
87% real-name verified, 140 returnees from Hubei and 1,442 from other
provinces (scaled with ``residents``). The territory stays the same size when
``residents`` grows: a million residents means bigger compounds behind the
same 86 checkpoints, which is what a load test wants.

Nothing here is real personal data: names, phones and ID numbers are drawn
from a seeded ``random.Random``; ID numbers are merely *valid* (checksum,
birth date and a division that existed in the birth year, as
``streams.idcard.is_valid`` checks them).
"""

from __future__ import annotations

import random
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from schemas import (
    Checkpoint,
    Compound,
    PersonRecord,
    QuarantineOrder,
    Residency,
    Resident,
    RiskArea,
    RiskColour,
    Visitor,
)
from streams.idcard import is_valid, with_check_digit
from streams.master import MemoryMaster
from streams.privacy import PersonKeys
from streams.simulate.upstream import build_upstream

TZ = ZoneInfo("Asia/Shanghai")
DIVISION = "330822"
DEFAULT_RESIDENTS = 18_400
HUBEI_RETURNEES = 140
OTHER_PROVINCE_RETURNEES = 1_442
VERIFIED_SHARE = 0.87
LARGE_GRIDS = 54
CHECKPOINTS = 86
CLOSED_COMPOUNDS = 62  # 62 compounds, 24 of them with a second open entrance: 86 checkpoints
WALL_CLIMB_ADDRESS = "东河北街50号"
INNER_POINTS = 8  # inner code points (building doors) in the largest closed compounds
# Opening hours (local): a compound's main gate is staffed 06:30-22:30, a side gate 07:00-21:00;
# inner code points are scanned 07:00-21:00. Silence counts only inside them (silent_checkpoint).
MAIN_GATE_HOURS = (time(6, 30), time(22, 30))
SIDE_GATE_HOURS = (time(7, 0), time(21, 0))
INNER_HOURS = (time(7, 0), time(21, 0))
GONGSHU = "330105"

# GB/T 2260 codes of Changshan over time. stdnum checks that a card's division
# existed in the holder's birth year, and real cards keep the code of first
# issue, so residents born before 1985 carry Changshan's older codes.
_LOCAL_CODES: tuple[tuple[int, str], ...] = ((1985, DIVISION), (1983, "332427"), (0, "332529"))
LOCAL_DIVISIONS = frozenset(code for _, code in _LOCAL_CODES)

# (code suffix, name, pinyin, large grids, roads); 9 communities + 7 villages = 54 large grids
_COMMUNITIES: tuple[tuple[str, str, str, int, tuple[str, ...]], ...] = (
    ("001", "文峰社区", "Wenfeng", 5, ("文峰路", "文峰东路", "人民路")),
    ("002", "定阳社区", "Dingyang", 5, ("东河北街", "定阳路", "东河南街")),
    ("003", "东明社区", "Dongming", 4, ("东明路", "常山路", "天马路")),
    ("004", "紫港社区", "Zigang", 4, ("紫港路", "柚乡路")),
    ("005", "金川社区", "Jinchuan", 4, ("金川路", "江滨路")),
    ("006", "柚香社区", "Youxiang", 3, ("柚香路", "月亮湾路")),
    ("007", "城北社区", "Chengbei", 3, ("城北路", "北门街")),
    ("008", "南门社区", "Nanmen", 3, ("南门街", "县前路")),
    ("009", "东鲁社区", "Donglu", 3, ("东鲁路", "东门街")),
    ("201", "五里村", "Wuli", 3, ("五里村路",)),
    ("202", "光明村", "Guangming", 3, ("光明村路",)),
    ("203", "塔山村", "Tashan", 3, ("塔山路",)),
    ("204", "新都村", "Xindu", 3, ("新都路",)),
    ("205", "泥山村", "Nishan", 3, ("泥山路",)),
    ("206", "天安村", "Tian'an", 3, ("天安路",)),
    ("207", "江源村", "Jiangyuan", 2, ("江源路",)),
)
_ESTATE_SUFFIXES = ("新村", "花园", "小区", "公寓", "苑", "家园", "新苑", "名苑", "北区", "南区")
_GATES = ("东门", "西门", "南门", "北门")
_SURNAMES = (
    "徐王李张刘陈杨黄赵周吴郑汪余叶江朱毛姜方胡何林郭罗宋谢韩唐冯邓曹彭曾肖田董袁潘"
    "蒋蔡程傅钟卢丁魏邵严应柴祝童"
)
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚桂英华玲建国志红梅兰鑫宇浩晨欣怡佳琪俊辉"
_HUBEI_CARD_CODES = (
    "420102", "420103", "420104", "420105", "420106", "420107", "420111", "420112", "420502",
)  # fmt: skip
_OTHER_PROVINCE_CODES = (
    "360102", "362321", "362330", "340102", "350102", "350203", "410102", "310101",
    "320102", "430102", "510104", "520102", "360402", "440304",
)  # fmt: skip
# Residents are built with model_construct (the values are ours and the tests
# re-validate every one) and share one fields-set: at a million residents a
# private set per model would cost ~700 MB. Models are frozen, so it is never
# mutated; model_copy copies it.
_RESIDENT_FIELDS = {
    "id_number", "name", "phone", "dwelling_id", "compound_id", "community_code",
    "large_grid", "small_grid", "verified", "residency",
}  # fmt: skip
_HOUSEHOLD_SIZES = (1, 2, 3, 4)
_HOUSEHOLD_WEIGHTS = (0.48, 0.33, 0.15, 0.04)  # mean 1.75: 18,400 residents in 10,500+ dwellings


@dataclass(frozen=True, slots=True)
class Community:
    """A village or community (村社): it owns a QR code and a set of large grids."""

    code: str
    name: str
    pinyin: str
    is_village: bool
    large_grids: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class Street:
    """The master data of one simulated street, plus indexes the day generator needs.

    The register tuples are what ``publish_master_data`` puts on the compacted
    topics. The arrays map a resident to its compound and a compound to its
    checkpoints by position, so the day generator never hashes a string per
    passage (a million residents must stay cheap).
    """

    seed: int
    as_of: date
    communities: tuple[Community, ...]
    compounds: tuple[Compound, ...]
    checkpoints: tuple[Checkpoint, ...]
    residents: tuple[Resident, ...]
    quarantine_orders: tuple[QuarantineOrder, ...]
    risk_areas: tuple[RiskArea, ...]
    resident_compound: array = field(repr=False)  # type: ignore[type-arg]
    compound_checkpoints: tuple[tuple[int, ...], ...] = field(repr=False)
    compound_inner: tuple[int, ...] = field(default=(), repr=False)  # inner point index per compound, -1: none
    visitors: tuple[Visitor, ...] = ()
    person_records: tuple[PersonRecord, ...] = ()
    record_corrections: tuple[PersonRecord, ...] = field(default=(), repr=False)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Street):
            return NotImplemented
        return self.registers() == other.registers()

    __hash__ = None  # type: ignore[assignment]

    def registers(self) -> tuple[tuple[object, ...], ...]:
        """All published master data, in publishing order."""
        return (
            self.compounds,
            self.checkpoints,
            self.residents,
            self.quarantine_orders,
            self.risk_areas,
            self.visitors,
            self.person_records,
            self.record_corrections,
        )

    @property
    def gates(self) -> tuple[Checkpoint, ...]:
        """The checkpoints in compound perimeters (the brief's 86 卡点), without inner points."""
        return tuple(c for c in self.checkpoints if c.kind == "gate")

    def community(self, name_or_code: str) -> Community:
        for c in self.communities:
            if name_or_code in (c.code, c.name, c.pinyin):
                return c
        raise KeyError(name_or_code)

    def compound(self, compound_id: str) -> Compound:
        return next(c for c in self.compounds if c.compound_id == compound_id)

    def checkpoint_at(self, address: str) -> Checkpoint:
        return next(c for c in self.checkpoints if c.address == address)

    def residents_of(self, compound_id: str) -> list[Resident]:
        """Linear scan: for tests and incidents, not for the hot path."""
        return [r for r in self.residents if r.compound_id == compound_id]

    def quarantined_on(self, day: date) -> frozenset[str]:
        """ID numbers under an active home-quarantine order at any time of ``day``."""
        start = datetime.combine(day, time(), TZ)
        end = start + timedelta(days=1)
        return frozenset(
            q.id_number for q in self.quarantine_orders if q.starts_at < end and q.ends_at > start
        )


def build_street(
    *,
    seed: int,
    residents: int = DEFAULT_RESIDENTS,
    as_of: date = date(2020, 2, 8),
    verified_share: float = VERIFIED_SHARE,
    renter_share: float = 0.08,
) -> Street:
    """Build the street; ``as_of`` anchors quarantine orders (all active on that day).

    The territory (communities, grids, compounds, checkpoints) does not depend
    on ``residents``; returnee counts scale with it.
    """
    if residents < 100:
        raise ValueError("residents must be at least 100")
    rng = random.Random(f"street:{seed}")
    communities, compounds, checkpoints, cp_of = _territory(rng)
    people, res_compound, dwellings = _residents(
        rng, compounds, residents, verified_share=verified_share, renter_share=renter_share
    )
    compounds = tuple(
        c.model_copy(update={"dwellings": d}) for c, d in zip(compounds, dwellings, strict=True)
    )
    orders = _quarantine(rng, people, as_of)
    inner = _inner_points(random.Random(f"street-inner:{seed}"), compounds, checkpoints, cp_of, res_compound)
    closed = [i for i, c in enumerate(compounds) if c.closed]
    upstream = build_upstream(
        seed=seed, tz=TZ, as_of=as_of, compounds=compounds, residents=people, orders=orders, closed_compounds=closed
    )
    return Street(
        seed=seed,
        as_of=as_of,
        communities=communities,
        compounds=compounds,
        checkpoints=checkpoints + tuple(cp for cp, _ in inner),
        residents=tuple(people),
        quarantine_orders=orders,
        risk_areas=_risk_areas(),
        resident_compound=res_compound,
        compound_checkpoints=cp_of,
        compound_inner=_inner_index(len(compounds), len(checkpoints), [ci for _, ci in inner]),
        visitors=upstream.visitors,
        person_records=upstream.person_records,
        record_corrections=upstream.record_corrections,
    )


def _inner_points(
    rng: random.Random,
    compounds: Sequence[Compound],
    gates: Sequence[Checkpoint],
    cp_of: Sequence[tuple[int, ...]],
    res_compound: array,  # type: ignore[type-arg]
) -> list[tuple[Checkpoint, int]]:
    """Inner code points (kind "inner") in the largest closed compounds, a little inside the main gate."""
    sizes = [0] * len(compounds)
    for ci in res_compound:
        sizes[ci] += 1
    largest = sorted((i for i, c in enumerate(compounds) if c.closed), key=lambda i: (-sizes[i], i))[:INNER_POINTS]
    out: list[tuple[Checkpoint, int]] = []
    for k, ci in enumerate(sorted(largest)):
        comp, gate = compounds[ci], gates[cp_of[ci][0]]
        out.append((
            Checkpoint(
                checkpoint_id=f"ip{k + 1:02d}",
                name=f"{comp.name}{rng.randint(1, 12)}幢内部码点",
                compound_id=comp.compound_id,
                community_code=comp.community_code,
                large_grid=comp.large_grid,
                small_grid=comp.small_grid,
                address=gate.address,
                lat=round(gate.lat + rng.uniform(-0.0006, 0.0006), 6),
                lon=round(gate.lon + rng.uniform(-0.0006, 0.0006), 6),
                kind="inner",
                opens=INNER_HOURS[0],
                closes=INNER_HOURS[1],
            ),
            ci,
        ))
    return out


def _inner_index(n_compounds: int, first: int, compounds_with_inner: Sequence[int]) -> tuple[int, ...]:
    index = [-1] * n_compounds
    for k, ci in enumerate(compounds_with_inner):
        index[ci] = first + k
    return tuple(index)


def _territory(
    rng: random.Random,
) -> tuple[
    tuple[Community, ...], tuple[Compound, ...], tuple[Checkpoint, ...], tuple[tuple[int, ...], ...]
]:
    communities: list[Community] = []
    small_grids: list[tuple[int, str, str]] = []  # (community index, large, small)
    lg = 0
    for ci, (suffix, name, pinyin, n_large, _roads) in enumerate(_COMMUNITIES):
        larges = []
        for _ in range(n_large):
            lg += 1
            large = f"lg{lg:02d}"
            larges.append(large)
            small_grids += [(ci, large, f"{large}-s{k}") for k in (1, 2)]
        communities.append(
            Community(f"{DIVISION}001{suffix}", name, pinyin, suffix >= "2", tuple(larges))
        )
    if lg != LARGE_GRIDS:  # pragma: no cover - guards edits of _COMMUNITIES
        raise AssertionError(f"{lg} large grids, the brief has {LARGE_GRIDS}")

    # every village/community has a closed compound in its first small grid
    first_of = {ci: i for i, (ci, _, _) in reversed(list(enumerate(small_grids)))}
    rest = [i for i in range(len(small_grids)) if i not in first_of.values()]
    closed_grids = set(first_of.values()) | set(rng.sample(rest, CLOSED_COMPOUNDS - len(first_of)))
    two_gates = set(rng.sample(sorted(closed_grids), CHECKPOINTS - CLOSED_COMPOUNDS))

    centres = [(28.90 + rng.uniform(-0.02, 0.02), 118.52 + rng.uniform(-0.025, 0.025)) for _ in communities]
    compounds: list[Compound] = []
    checkpoints: list[Checkpoint] = []
    cp_of: list[tuple[int, ...]] = []
    per_community = [0] * len(communities)
    used_names: set[str] = set()
    used_addresses = {WALL_CLIMB_ADDRESS}
    for gi, (ci, large, small) in enumerate(small_grids):
        comm = communities[ci]
        kinds = [True] if gi in closed_grids else []
        if not kinds or rng.random() < 0.25:
            kinds.append(False)
        for closed in kinds:
            per_community[ci] += 1
            cid = f"{comm.code}-{per_community[ci]:02d}"
            cname = _compound_name(rng, comm, closed, per_community[ci], used_names)
            compounds.append(
                Compound(
                    compound_id=cid,
                    name=cname,
                    community_code=comm.code,
                    large_grid=large,
                    small_grid=small,
                    closed=closed,
                )
            )
            if not closed:
                cp_of.append(())
                continue
            lat0 = centres[ci][0] + rng.uniform(-0.004, 0.004)
            lon0 = centres[ci][1] + rng.uniform(-0.004, 0.004)
            gates = rng.sample(_GATES, 2 if gi in two_gates else 1)
            idx = []
            for gate in gates:
                if comm.name == "定阳社区" and WALL_CLIMB_ADDRESS not in {c.address for c in checkpoints}:
                    address = WALL_CLIMB_ADDRESS
                else:
                    address = _address(rng, _COMMUNITIES[ci][4], used_addresses)
                idx.append(len(checkpoints))
                checkpoints.append(
                    Checkpoint(
                        checkpoint_id=f"kp{len(checkpoints) + 1:02d}",
                        name=f"{cname}{gate}卡点",
                        compound_id=cid,
                        community_code=comm.code,
                        large_grid=large,
                        small_grid=small,
                        address=address,
                        lat=round(lat0 + rng.uniform(-0.0008, 0.0008), 6),
                        lon=round(lon0 + rng.uniform(-0.0008, 0.0008), 6),
                        opens=(MAIN_GATE_HOURS if len(idx) == 1 else SIDE_GATE_HOURS)[0],
                        closes=(MAIN_GATE_HOURS if len(idx) == 1 else SIDE_GATE_HOURS)[1],
                    )
                )
            cp_of.append(tuple(idx))
    if len(checkpoints) != CHECKPOINTS:  # pragma: no cover
        raise AssertionError(f"{len(checkpoints)} checkpoints, the brief has {CHECKPOINTS}")
    return tuple(communities), tuple(compounds), tuple(checkpoints), tuple(cp_of)


def _compound_name(
    rng: random.Random, comm: Community, closed: bool, n: int, used: set[str]
) -> str:
    stem = comm.name[:2]
    if comm.is_village:
        name = f"{comm.name}{n}组" if closed else f"{comm.name}{n}组散居户"
    elif closed:
        name = f"{stem}{rng.choice(_ESTATE_SUFFIXES)}"
        if name in used:
            name = f"{name}{n}幢区"
    else:
        name = f"{stem}{n}号片散居户"
    used.add(name)
    return name


def _address(rng: random.Random, roads: Sequence[str], used: set[str]) -> str:
    while True:
        address = f"{rng.choice(roads)}{rng.randrange(1, 300)}号"
        if address not in used:
            used.add(address)
            return address


def _residents(
    rng: random.Random,
    compounds: Sequence[Compound],
    n: int,
    *,
    verified_share: float,
    renter_share: float,
) -> tuple[list[Resident], array, list[int]]:  # type: ignore[type-arg]
    """Residents by dwelling, compound after compound; returnees get cards from elsewhere."""
    weights = [rng.uniform(0.8, 1.6) if c.closed else rng.uniform(0.15, 0.45) for c in compounds]
    sizes = _apportion(n, weights)

    hubei_n = round(HUBEI_RETURNEES * n / DEFAULT_RESIDENTS)
    other_n = round(OTHER_PROVINCE_RETURNEES * n / DEFAULT_RESIDENTS)
    # the returnee of incident (b): a registered Wenfeng resident of a closed compound
    wenfeng = next(i for i, c in enumerate(compounds) if c.closed and c.community_code.endswith("001001"))
    gongshu_at = sum(sizes[:wenfeng]) + rng.randrange(sizes[wenfeng])
    picks = rng.sample(range(n - 1), hubei_n + other_n)
    origin: dict[int, str] = {}
    for k, i in enumerate(picks):
        i += i >= gongshu_at  # never the Gongshu returnee
        origin[i] = "hubei" if k < hubei_n else "other"
    origin[gongshu_at] = "gongshu"

    used: set[str] = set()
    people: list[Resident] = []
    res_compound = array("I")
    dwellings: list[int] = []
    hh_cum = _cumulative(_HOUSEHOLD_WEIGHTS)
    for ci, (comp, size) in enumerate(zip(compounds, sizes, strict=True)):
        left, d = size, 0
        renter_p = renter_share if comp.closed else renter_share / 3
        while left > 0:
            d += 1
            dwelling = f"{comp.compound_id}-{d:04d}"
            hh = min(left, rng.choices(_HOUSEHOLD_SIZES, cum_weights=hh_cum)[0])
            residency = Residency.RENTER if rng.random() < renter_p else Residency.RESIDENT
            surname = rng.choice(_SURNAMES)
            for _ in range(hh):
                i = len(people)
                people.append(
                    Resident.model_construct(
                        _RESIDENT_FIELDS,
                        id_number=_id_number(rng, origin.get(i), used),
                        name=surname + "".join(rng.choices(_GIVEN, k=rng.choice((1, 2, 2)))),
                        phone=f"1{rng.choice('35789')}{rng.randrange(10**9):09d}"
                        if rng.random() < 0.92
                        else None,
                        dwelling_id=dwelling,
                        compound_id=comp.compound_id,
                        community_code=comp.community_code,
                        large_grid=comp.large_grid,
                        small_grid=comp.small_grid,
                        verified=origin.get(i) == "gongshu" or rng.random() < verified_share,
                        residency=residency,
                    )
                )
                res_compound.append(ci)
            left -= hh
        dwellings.append(d)
    return people, res_compound, dwellings


def _apportion(n: int, weights: Sequence[float]) -> list[int]:
    """Split n by weights (largest remainder), so the total is exactly n."""
    total = sum(weights)
    raw = [n * w / total for w in weights]
    sizes = [int(x) for x in raw]
    by_frac = sorted(range(len(raw)), key=lambda i: raw[i] - sizes[i], reverse=True)
    for i in by_frac[: n - sum(sizes)]:
        sizes[i] += 1
    return sizes


def _cumulative(weights: Sequence[float]) -> list[float]:
    out, acc = [], 0.0
    for w in weights:
        acc += w
        out.append(acc)
    return out


_EPOCH = date(1930, 1, 1).toordinal()
_LAST = date(2019, 12, 31).toordinal()
_YOUNG = date(1983, 1, 1).toordinal()
_YOUNGEST = date(2002, 12, 31).toordinal()


def _id_number(rng: random.Random, origin: str | None, used: set[str]) -> str:
    """A unique valid ID number; returnees are working age, their divisions from elsewhere."""
    while True:
        if origin is None:
            born = date.fromordinal(rng.randint(_EPOCH, _LAST))
            division = next(code for year, code in _LOCAL_CODES if born.year >= year)
        else:
            born = date.fromordinal(rng.randint(_YOUNG, _YOUNGEST))
            if origin == "hubei":
                division = rng.choice(_HUBEI_CARD_CODES)
            elif origin == "other":
                division = rng.choice(_OTHER_PROVINCE_CODES)
            else:
                division = GONGSHU
        number = with_check_digit(f"{division}{born:%Y%m%d}{rng.randrange(1000):03d}")
        if number in used or (origin is not None and not is_valid(number)):
            continue
        used.add(number)
        return number


def _quarantine(rng: random.Random, people: Sequence[Resident], as_of: date) -> tuple[QuarantineOrder, ...]:
    """Every Hubei returnee and about one in eight from other provinces, 14 days each."""
    anchor = datetime.combine(as_of, time(), TZ)
    orders: list[QuarantineOrder] = []
    for p in people:
        card = p.id_number[:2]
        if card == "42" or (card != "33" and rng.random() < 0.12):
            starts = anchor - timedelta(days=rng.randint(1, 12), minutes=rng.randrange(24 * 60))
            orders.append(
                QuarantineOrder(
                    order_id=f"qo{len(orders) + 1:05d}",
                    id_number=p.id_number,
                    dwelling_id=p.dwelling_id,
                    starts_at=starts,
                    ends_at=starts + timedelta(days=14),
                )
            )
    return tuple(orders)


def _risk_areas() -> tuple[RiskArea, ...]:
    """Hubei red from the Wuhan lockdown; Gongshu yellow (incident b); a few others."""
    lockdown = datetime(2020, 1, 23, 10, 0, tzinfo=TZ)
    feb = datetime(2020, 2, 1, 0, 0, tzinfo=TZ)
    areas = [
        ("420000", RiskColour.RED, lockdown, "湖北省"),
        ("420100", RiskColour.RED, lockdown, "武汉市"),
        *((code, RiskColour.RED, lockdown, "湖北省") for code in _HUBEI_CARD_CODES),
        (GONGSHU, RiskColour.YELLOW, feb, "杭州市拱墅区"),
        ("330300", RiskColour.RED, feb, "温州市"),
        ("331000", RiskColour.YELLOW, feb, "台州市"),
        ("411500", RiskColour.YELLOW, feb, "信阳市"),
        ("330102", RiskColour.GREEN, feb, "杭州市上城区"),
    ]
    return tuple(RiskArea(division_code=c, colour=k, valid_from=v, name=n) for c, k, v, n in areas)


def memory_master(street: Street, keys: PersonKeys) -> MemoryMaster:
    """The street's registers held in memory, for the engine run in process (tests, the engine benchmark)."""
    return MemoryMaster(
        keys,
        residents=street.residents,
        checkpoints=street.checkpoints,
        compounds=street.compounds,
        orders=street.quarantine_orders,
        risk_areas=street.risk_areas,
        visitors=street.visitors,
        person_records=street.person_records,
    )
