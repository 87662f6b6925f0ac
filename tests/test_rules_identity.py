"""The invalid-identity rule over enriched events, and the article's returnee against every rule."""

from __future__ import annotations

from datetime import datetime

import pytest

from schemas import EnrichedEvent, Place, Severity
from streams.divisions import event_date
from streams.enrich import Enricher
from streams.idcard import REASONS, problems
from streams.master import MemoryMaster
from streams.privacy import PersonKeys
from streams.rules import evaluate
from streams.rules.identity import InvalidIdentity
from streams.rules.origin import OriginMismatch
from tests.factories import COMPOUNDS, CST, DINGYANG_CP, NIGHT, RESIDENTS, RETURNEE_ID, RISK_AREAS, WENFENG_CP, passage

FORGED = "339999199202300041"  # no such division, no 30 February


def enriched(**fields: object) -> EnrichedEvent:
    base: dict[str, object] = {"event_id": "e", "event_type": "passage", "event_time": NIGHT, "place": Place()}
    return EnrichedEvent.model_validate(base | fields)


def test_a_valid_identity_is_quiet() -> None:
    assert InvalidIdentity().evaluate(enriched()) is None
    assert InvalidIdentity().evaluate(enriched(id_problems=problems(RETURNEE_ID, at=event_date(NIGHT)))) is None


@pytest.mark.parametrize(
    ("reason", "zh", "en"),
    [
        ("structure", "格式不符", "malformed"),
        ("birth_date", "出生日期无效", "impossible birth date"),
        ("check_digit", "校验码错误", "wrong check digit"),
        ("division", "地区码不存在", "division code that never existed"),
    ],
)
def test_each_reason_is_a_high_finding_naming_it(reason: str, zh: str, en: str) -> None:
    finding = InvalidIdentity().evaluate(enriched(id_problems=(reason,)))
    assert finding is not None
    assert (finding.rule_id, finding.rule_version, finding.severity) == ("invalid_identity", 1, Severity.HIGH)
    assert zh in finding.summary_zh and en in finding.summary_en
    assert finding.action == "check the person's ID card in hand and re-register"


def test_a_forged_number_names_all_its_reasons_but_never_the_number() -> None:
    reasons = problems(FORGED, at=event_date(NIGHT))
    assert set(reasons) >= {"birth_date", "division"}
    finding = InvalidIdentity().evaluate(enriched(id_problems=reasons, subject_masked="339999********0041"))
    assert finding is not None
    assert "出生日期无效" in finding.summary_zh and "地区码不存在" in finding.summary_zh
    assert "impossible birth date" in finding.summary_en and "never existed" in finding.summary_en
    for text in (finding.summary_zh, finding.summary_en, finding.action):
        assert FORGED not in text and FORGED[:6] not in text


def test_every_reason_problems_can_give_has_a_text() -> None:
    finding = InvalidIdentity().evaluate(enriched(id_problems=REASONS))
    assert finding is not None
    assert not any(reason in finding.summary_zh for reason in REASONS)  # translated, not raw codes


# the article's returnee, against every rule -----------------------------------

KEYS = PersonKeys(secret=b"test")


def test_article_returnee_gives_exactly_one_origin_mismatch_needing_quarantine() -> None:
    """18 Feb 2020, ~22:00, Wenfeng: declared Xiacheng 330103, card Gongshu 330105, Gongshu yellow."""
    master = MemoryMaster(KEYS, residents=RESIDENTS, checkpoints=(DINGYANG_CP, WENFENG_CP),  # type: ignore[arg-type]
                          compounds=COMPOUNDS, risk_areas=RISK_AREAS)
    when = datetime(2020, 2, 18, 22, 0, tzinfo=CST)
    event = Enricher(master=master, keys=KEYS).enrich(
        passage("e", event_time=when, checkpoint_id=WENFENG_CP.checkpoint_id, id_number=RETURNEE_ID,
                declared_origin="330103")
    )
    event = event.model_copy(update={"id_problems": problems(RETURNEE_ID, at=event_date(when))})
    findings = evaluate([OriginMismatch(), InvalidIdentity()], event)
    assert [(f.rule_id, f.severity, f.action) for f in findings] == [
        ("origin_mismatch", Severity.HIGH, "quarantine required")
    ]
    assert "inferred" in findings[0].summary_en and "推断" in findings[0].summary_zh
