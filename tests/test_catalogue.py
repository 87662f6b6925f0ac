"""The rule catalogue: the shipped file, the models, and errors that name file, line and field."""

from __future__ import annotations

import json
import re
from datetime import time, timedelta
from pathlib import Path

import pytest
import yaml

from schemas import Severity
from streams.catalogue import (
    RULE_IDS,
    Catalogue,
    CatalogueError,
    format_duration,
    load_catalogue,
    packaged_catalogue,
    parse_catalogue,
    parse_duration,
)
from streams.cli import main
from streams.rules.fever import FeverParams
from streams.rules.late_night import LateNightEntryParams
from streams.rules.travel import ImpossibleTravelParams

SHIPPED = Path(packaged_catalogue()).read_text(encoding="utf-8")


def line_of(text: str, needle: str) -> int:
    """1-based line of the one line containing ``needle``: expected lines follow the text, not a guess."""
    hits = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(hits) == 1, f"{needle!r} is on lines {hits}"
    return hits[0]


def edited(old: str, new: str) -> str:
    assert SHIPPED.count(old) == 1, old
    return SHIPPED.replace(old, new)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "catalogue.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def refusal(path: Path) -> str:
    with pytest.raises(CatalogueError) as info:
        load_catalogue(path)
    return str(info.value)


# the shipped catalogue ------------------------------------------------------

def test_shipped_catalogue_has_every_rule_once_in_order() -> None:
    catalogue = load_catalogue()
    assert tuple(spec.id for spec in catalogue.rules) == RULE_IDS
    assert len(RULE_IDS) == 14


def test_shipped_catalogue_carries_the_agreed_defaults() -> None:
    c = load_catalogue()
    assert (c.timezone, c.lateness) == ("Asia/Shanghai", timedelta(minutes=10))
    assert c.params(FeverParams).threshold_c == 37.3
    assert c.params(FeverParams).remeasure_window == timedelta(minutes=10)
    travel = c.params(ImpossibleTravelParams)
    assert (travel.max_speed_kmh, travel.same_time_window, travel.min_distance_m) == (60, timedelta(minutes=2), 300)
    night = c.params(LateNightEntryParams)
    assert (night.start, night.end) == (time(22, 0), time(6, 0))
    assert c.spec("bypass_entry").params.model_dump() == {
        "control_period": timedelta(hours=12), "confirm_after": timedelta(minutes=3)}
    assert c.spec("health_code").severity is Severity.WARNING
    assert c.spec("health_code").params.model_dump() == {"red_severity": Severity.CRITICAL}
    assert {s.suppression_window for s in c.rules} == {timedelta(minutes=30)}


def test_shipped_catalogue_states_every_parameter_explicitly() -> None:
    # the file is what people review: a parameter left to a code default would be invisible there
    raw = yaml.safe_load(SHIPPED)
    for entry, spec in zip(raw["rules"], load_catalogue().rules, strict=True):
        assert set(entry.get("params", {})) == set(type(spec.params).model_fields), spec.id
        assert "suppression_window" in entry and "enabled" in entry, spec.id


def test_every_rule_is_described_in_chinese_and_english() -> None:
    for spec in load_catalogue().rules:
        assert re.search(r"[\u4e00-\u9fff]", spec.description_zh), spec.id
        assert re.fullmatch(r"[ -~]+", spec.description_en), spec.id


def test_catalogue_json_reads_back_as_the_same_catalogue() -> None:
    catalogue = load_catalogue()
    dumped = catalogue.model_dump(mode="json")
    assert dumped["rules"][7]["params"] == {"threshold_c": 37.3, "remeasure_window": "10m"}
    assert Catalogue.model_validate(dumped) == catalogue


# API --------------------------------------------------------------------------

def test_spec_finds_a_rule_and_refuses_an_unknown_id() -> None:
    catalogue = load_catalogue()
    assert catalogue.spec("quarantine_breach").severity is Severity.CRITICAL
    with pytest.raises(KeyError, match="no_such_rule"):
        catalogue.spec("no_such_rule")


def test_enabled_leaves_out_disabled_rules(tmp_path: Path) -> None:
    text = edited("  - id: late_night_entry\n    version: 1\n    enabled: true",
                  "  - id: late_night_entry\n    version: 1\n    enabled: false")
    catalogue = load_catalogue(write(tmp_path, text))
    enabled = [spec.id for spec in catalogue.enabled()]
    assert "late_night_entry" not in enabled
    assert len(enabled) == 13


# durations and times ----------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "expected"),
    [("12h", timedelta(hours=12)), ("10m", timedelta(minutes=10)), ("90s", timedelta(seconds=90)),
     ("1h30m", timedelta(minutes=90)), ("1d", timedelta(days=1)), ("0s", timedelta(0))],
)
def test_durations_read_with_units_and_print_back(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected
    assert parse_duration(format_duration(expected)) == expected


def test_format_duration_uses_the_largest_units() -> None:
    assert format_duration(timedelta(seconds=90)) == "1m30s"
    assert format_duration(timedelta(hours=12)) == "12h"


@pytest.mark.parametrize("bad", ["12", 12, "12x", "", "h", "-5m", 1.5, None])
def test_durations_without_a_unit_or_malformed_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)


def test_unquoted_time_of_day_is_not_read_as_a_sexagesimal_number(tmp_path: Path) -> None:
    # YAML 1.1 reads 22:30 as 1350; pydantic would then take it as seconds after midnight
    text = edited('start: "22:00"', "start: 22:30")
    assert load_catalogue(write(tmp_path, text)).params(LateNightEntryParams).start == time(22, 30)


# broken files: each error names file, line and field ----------------------------

def test_wrong_type_names_line_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, edited("threshold_c: 37.3", "threshold_c: hot"))
    message = refusal(path)
    line = line_of(path.read_text(encoding="utf-8"), "threshold_c: hot")
    assert message.startswith(f"{path}:{line}: rules[7] (fever).params.threshold_c: Input should be a valid number")


def test_out_of_range_threshold_names_line_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, edited("threshold_c: 37.3", "threshold_c: 30"))
    line = line_of(path.read_text(encoding="utf-8"), "threshold_c: 30")
    assert refusal(path) == (
        f"{path}:{line}: rules[7] (fever).params.threshold_c: Input should be greater than or equal to 35"
    )


def test_unknown_parameter_names_line_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, edited("      margin: 2\n", "      margin: 2\n      colour: red\n"))
    line = line_of(path.read_text(encoding="utf-8"), "colour: red")
    assert refusal(path) == (
        f"{path}:{line}: rules[10] (dwelling_overcrowded).params.colour: Extra inputs are not permitted"
    )


def test_unknown_rule_field_names_line_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, edited("    severity: critical\n    suppression_window: 30m\n    description_zh: 居家",
                                  "    severity: critical\n    owner: ops\n    suppression_window: 30m\n"
                                  "    description_zh: 居家"))
    line = line_of(path.read_text(encoding="utf-8"), "owner: ops")
    assert refusal(path) == f"{path}:{line}: rules[8] (quarantine_breach).owner: Extra inputs are not permitted"


def test_missing_rule_is_named_at_the_rules_key(tmp_path: Path) -> None:
    start = SHIPPED.index("  - id: quarantine_breach")
    end = SHIPPED.index("  - id: impossible_travel")
    path = write(tmp_path, SHIPPED[:start] + SHIPPED[end:])
    line = line_of(SHIPPED, "rules:")
    assert refusal(path) == f"{path}:{line}: rules: rules missing from the catalogue: quarantine_breach"


def test_duplicate_rule_id_names_the_second_entry(tmp_path: Path) -> None:
    again = "  - id: fever\n    version: 2\n    severity: high\n    description_zh: 重复\n    description_en: again\n"
    text = SHIPPED + "\n" + again
    path = write(tmp_path, text)
    line = len(SHIPPED.splitlines()) + 2
    assert refusal(path) == f"{path}:{line}: rules[14] (fever).id: rule 'fever' is defined twice (first at rules[7])"


def test_unknown_rule_id_is_refused_with_the_known_ids(tmp_path: Path) -> None:
    path = write(tmp_path, edited("  - id: quarantine_breach", "  - id: quarantine_breech"))
    line = line_of(path.read_text(encoding="utf-8"), "quarantine_breech")
    message = refusal(path)
    assert message.startswith(f"{path}:{line}: rules[8].id: unknown rule id 'quarantine_breech'; the ids are")
    assert "quarantine_breach" in message


def test_bad_duration_names_line_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, edited("control_period: 12h", "control_period: 12"))
    line = line_of(path.read_text(encoding="utf-8"), "control_period: 12")
    assert refusal(path) == (
        f"{path}:{line}: rules[1] (bypass_entry).params.control_period: "
        "a duration with a unit is expected, e.g. 90s, 10m, 12h, 1d or 1h30m"
    )


def test_zero_window_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, edited("silence: 60m", "silence: 0s"))
    line = line_of(path.read_text(encoding="utf-8"), "silence: 0s")
    field = "rules[13] (silent_checkpoint).params.silence"
    assert refusal(path).startswith(f"{path}:{line}: {field}: a window or period must be longer than 0s")


def test_missing_required_field_points_at_the_rule(tmp_path: Path) -> None:
    path = write(tmp_path, edited("  - id: risk_area_arrival\n    version: 1\n", "  - id: risk_area_arrival\n"))
    line = line_of(path.read_text(encoding="utf-8"), "- id: risk_area_arrival")
    assert refusal(path) == f"{path}:{line}: rules[5] (risk_area_arrival).version: Field required"


def test_lowered_severity_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, edited("red_severity: critical", "red_severity: info"))
    line = line_of(path.read_text(encoding="utf-8"), "- id: health_code")
    assert refusal(path) == (
        f"{path}:{line}: rules[6] (health_code): params.red_severity (info) is below the rule's severity (warning): "
        "a rule may only raise it"
    )


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, edited("      window: 6h\n", "      window: 6h\n     margin 3: [\n"))
    message = refusal(path)
    line = line_of(path.read_text(encoding="utf-8"), "margin 3: [")
    assert message.startswith(f"{path}:{line}: YAML syntax: ")


def test_key_given_twice_is_refused_not_silently_overwritten(tmp_path: Path) -> None:
    path = write(tmp_path, edited("      margin: 2\n", "      margin: 2\n      margin: 9\n"))
    line = line_of(path.read_text(encoding="utf-8"), "margin: 9")
    assert refusal(path) == f"{path}:{line}: rules[10].params.margin: key given twice"


def test_every_problem_is_reported_in_file_order(tmp_path: Path) -> None:
    text = edited("lateness: 10m", "lateness: soon").replace("silence: 60m", "silence: never")
    path = write(tmp_path, text)
    lines = [int(m) for m in re.findall(rf"^{re.escape(str(path))}:(\d+):", refusal(path), flags=re.M)]
    assert lines == [line_of(text, "lateness: soon"), line_of(text, "silence: never")]


def test_unknown_timezone_and_empty_file_are_refused() -> None:
    with pytest.raises(CatalogueError, match=r"^c\.yaml:11: timezone: unknown timezone name 'Asia/Shanghi'$"):
        parse_catalogue(SHIPPED.replace("timezone: Asia/Shanghai", "timezone: Asia/Shanghi"), source="c.yaml")
    with pytest.raises(CatalogueError, match=r"^c\.yaml:1: the file is empty$"):
        parse_catalogue("# nothing\n", source="c.yaml")


def test_unreadable_file_is_a_catalogue_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(CatalogueError, match="cannot read the file"):
        load_catalogue(missing)


# the command ------------------------------------------------------------------

def test_rules_command_prints_one_row_per_rule(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "--file", packaged_catalogue()]) == 0
    out = capsys.readouterr().out.splitlines()
    rows = out[2:]
    assert [row.split()[0] for row in rows] == list(RULE_IDS)
    fever = rows[RULE_IDS.index("fever")]
    assert "threshold_c=37.3" in fever and "remeasure_window=10m" in fever and "high" in fever


def test_rules_json_is_the_effective_catalogue(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, edited("threshold_c: 37.3", "threshold_c: 37.5"))
    assert main(["rules", "--json", "--file", str(path)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == load_catalogue(path).model_dump(mode="json")
    assert printed["rules"][7]["params"]["threshold_c"] == 37.5


def test_rules_command_refuses_a_bad_file_with_status_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, edited("threshold_c: 37.3", "threshold_c: 30"))
    assert main(["rules", "--file", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"{path}:{line_of(path.read_text(encoding='utf-8'), 'threshold_c: 30')}: rules[7] (fever)" in captured.err


def test_rules_command_reads_the_file_named_in_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, edited("control_period: 12h", "control_period: 12"))
    monkeypatch.setenv("GRIDWATCH_RULES__FILE", str(path))
    assert main(["rules"]) == 2
    assert "rules[1] (bypass_entry).params.control_period" in capsys.readouterr().err


def test_rules_command_refuses_a_catalogue_the_worker_would_refuse_a_version_the_code_does_not_implement(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, edited("  - id: fever\n    version: 2", "  - id: fever\n    version: 3"))
    assert main(["rules", "--file", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "fever version 3" in captured.err and "implements version 2" in captured.err
