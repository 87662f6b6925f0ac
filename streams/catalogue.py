"""The rule catalogue: every rule's version, severity, thresholds and windows as data.

Why data and not code: thresholds and windows follow the epidemic situation (a
new fever threshold, a longer control period) and the command post must be able
to read, review and version them without reading Python. Why validated at
start-up: a typo in a threshold must stop the worker before it judges a single
event, with an error that says where the typo is, not silently fall back to a
default.

The file is YAML (``streams/rules/catalogue.yaml`` is shipped with the package).
Scalars are read with YAML 1.2 core rules, not PyYAML's YAML 1.1 ones: an
unquoted ``22:00`` stays the text "22:00" instead of becoming the sexagesimal
number 1320, and ``no`` stays text instead of becoming ``false``. A key given
twice in one mapping is refused (PyYAML would silently keep the last).

Errors (one root, so callers catch one type)::

    CatalogueError            the file cannot be read, is not YAML, or breaks the model;
                              str() is "<file>:<line>: <field path>: <problem>", one line per problem
        .problems             tuple[Problem, ...]: line (1-based, None if unknown), field, message
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, TypeVar, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from schemas import Severity
from streams.rules import RULE_IDS, RULES
from streams.rules.definition import RuleDefinition
from streams.rules.params import Duration, RuleParams, format_duration, parse_duration

_SEVERITY_RANK: Final = {Severity.INFO: 0, Severity.WARNING: 1, Severity.HIGH: 2, Severity.CRITICAL: 3}


# rule specs -----------------------------------------------------------------

class RuleSpec(BaseModel):
    """One rule's entry in the catalogue.

    ``severity`` is the default a rule reports; a rule may raise it (params
    name the raised levels) but never lower it. ``version`` is stamped on every
    finding, so an alert says which definition judged it: bump it whenever the
    meaning or a parameter changes.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    version: int = Field(ge=1)
    enabled: bool = True
    severity: Severity
    name_zh: str = Field(default="", max_length=40, description="Short name on the console; empty: the rule id.")
    name_en: str = Field(default="", max_length=60)
    description_zh: str = Field(min_length=1)
    description_en: str = Field(min_length=1)
    suppression_window: Duration = Field(
        default=timedelta(minutes=30),
        description="Repeats of the same (rule, subject, place) within it raise the open alert's count.",
    )
    params: RuleParams

    @model_validator(mode="after")
    def _raised_not_lowered(self) -> RuleSpec:
        for name, value in self.params:
            if isinstance(value, Severity) and _SEVERITY_RANK[value] < _SEVERITY_RANK[self.severity]:
                raise PydanticCustomError(
                    "severity_lowered",
                    "params.{name} ({value}) is below the rule's severity ({severity}): a rule may only raise it",
                    {"name": name, "value": value.value, "severity": self.severity.value},
                )
        return self


def _spec_model(definition: RuleDefinition[Any]) -> type[RuleSpec]:
    """The catalogue entry of one rule: ``id`` fixed to the rule's, ``params`` its own model."""
    name = definition.params.__name__.removesuffix("Params") + "Spec"
    model: type[RuleSpec] = create_model(
        name,
        __base__=RuleSpec,
        __module__=__name__,
        id=(Literal[definition.id], ...),
        params=(definition.params, definition.params()),
    )
    return model


if TYPE_CHECKING:
    AnyRuleSpec = RuleSpec
else:
    AnyRuleSpec = Annotated[Union[tuple(_spec_model(d) for d in RULES)], Discriminator("id")]  # noqa: UP007
"""The rule id chooses the spec class, and with it the params model (each rule's ``DEFINITION``)."""
_RULE_OF_PARAMS: Final = {d.params: d.id for d in RULES}

P = TypeVar("P", bound=RuleParams)


class Catalogue(BaseModel):
    """The whole catalogue: global settings and exactly one spec per rule id."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = Field(ge=1, description="Of the catalogue file; bump on any change.")
    timezone: str = Field(default="Asia/Shanghai", description="IANA name; times of day are local to it.")
    lateness: Duration = Field(
        default=timedelta(minutes=10),
        description="Events older than the watermark minus this are not judged.",
    )
    rules: tuple[AnyRuleSpec, ...]

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise PydanticCustomError("timezone", "unknown timezone name '{name}'", {"name": name}) from None
        return name

    @field_validator("rules")
    @classmethod
    def _each_rule_once(cls, rules: tuple[RuleSpec, ...]) -> tuple[RuleSpec, ...]:
        first: dict[str, int] = {}
        for index, spec in enumerate(rules):
            if spec.id in first:
                # ``index`` lets the loader point at the second entry, not at ``rules:``
                raise PydanticCustomError(
                    "duplicate_rule",
                    "rule '{rule_id}' is defined twice (first at rules[{first}])",
                    {"rule_id": spec.id, "first": first[spec.id], "index": index},
                )
            first[spec.id] = index
        missing = [rule_id for rule_id in RULE_IDS if rule_id not in first]
        if missing:
            raise PydanticCustomError(
                "missing_rule", "rules missing from the catalogue: {missing}", {"missing": ", ".join(missing)}
            )
        return rules

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def spec(self, rule_id: str) -> RuleSpec:
        for spec in self.rules:
            if spec.id == rule_id:
                return spec
        raise KeyError(f"unknown rule id {rule_id!r}; known: {', '.join(RULE_IDS)}")

    def params(self, model: type[P]) -> P:
        """The typed parameters of one rule: ``catalogue.params(FeverParams).threshold_c``."""
        rule_id = _RULE_OF_PARAMS[model]
        params = self.spec(rule_id).params
        if not isinstance(params, model):  # cannot happen for a validated catalogue
            raise TypeError(f"{rule_id} has params of type {type(params).__name__}, not {model.__name__}")
        return params

    def enabled(self) -> tuple[RuleSpec, ...]:
        return tuple(spec for spec in self.rules if spec.enabled)


# loading --------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Problem:
    line: int | None  # 1-based
    field: str  # e.g. "rules[7] (fever).params.threshold_c"; empty for the whole file
    message: str


class CatalogueError(Exception):
    """The catalogue file is unusable; str() names file, line and field of every problem."""

    def __init__(self, source: str, problems: tuple[Problem, ...]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(_format_problem(source, p) for p in problems))


def _format_problem(source: str, p: Problem) -> str:
    where = f"{source}:{p.line}" if p.line is not None else source
    return f"{where}: {p.field}: {p.message}" if p.field else f"{where}: {p.message}"


def packaged_catalogue() -> str:
    """Where the shipped catalogue is, for messages and for ``gridwatch rules``."""
    return str(resources.files("streams.rules") / "catalogue.yaml")


def load_catalogue(path: Path | None = None) -> Catalogue:
    """Read and validate a catalogue file; ``None`` is the one shipped with the package."""
    if path is None:
        source = packaged_catalogue()
        text = (resources.files("streams.rules") / "catalogue.yaml").read_text(encoding="utf-8")
    else:
        source = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CatalogueError(source, (Problem(None, "", f"cannot read the file: {exc}"),)) from None
    return parse_catalogue(text, source=source)


def parse_catalogue(text: str, *, source: str = "<catalogue>") -> Catalogue:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        raise CatalogueError(source, (Problem(line, "", f"YAML syntax: {problem}"),)) from None
    except yaml.YAMLError as exc:
        raise CatalogueError(source, (Problem(None, "", f"YAML: {exc}"),)) from None
    if root is None:
        raise CatalogueError(source, (Problem(1, "", "the file is empty"),))
    lines: dict[tuple[str | int, ...], int] = {}
    data = _plain(root, (), lines, source)
    try:
        return Catalogue.model_validate(data)
    except ValidationError as exc:
        problems = [_problem(err, lines) for err in exc.errors(include_url=False)]
        problems.sort(key=lambda p: (p.line or 0))
        raise CatalogueError(source, tuple(problems)) from None


_NULL = re.compile(r"~|null|Null|NULL|")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"[-+]?[0-9]+")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")


def _scalar(node: yaml.ScalarNode) -> Any:
    """YAML 1.2 core schema for plain scalars; quoted and block scalars are text."""
    value: str = node.value
    if node.style is not None:
        return value
    if _NULL.fullmatch(value):
        return None
    if value in _BOOL:
        return _BOOL[value]
    if _INT.fullmatch(value):
        return int(value)
    if _FLOAT.fullmatch(value):
        return float(value)
    return value


def _plain(node: yaml.Node, path: tuple[str | int, ...], lines: dict[tuple[str | int, ...], int], source: str) -> Any:
    """The node tree as plain Python values, recording the line of every field and item."""
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else repr(key_node.value)
            line = key_node.start_mark.line + 1
            if key in out:
                raise CatalogueError(source, (Problem(line, _field_path((*path, key)), "key given twice"),))
            lines[(*path, key)] = line
            out[key] = _plain(value_node, (*path, key), lines, source)
        return out
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item in enumerate(node.value):
            lines[(*path, index)] = item.start_mark.line + 1
            items.append(_plain(item, (*path, index), lines, source))
        return items
    assert isinstance(node, yaml.ScalarNode)  # noqa: S101 - the composer makes only these three
    return _scalar(node)


def _problem(err: Any, lines: dict[tuple[str | int, ...], int]) -> Problem:
    loc: tuple[str | int, ...] = tuple(err["loc"])
    ctx = err.get("ctx") or {}
    tag: str | None = None
    # errors inside a rule carry the discriminator's tag after the index: ("rules", 7, "fever", "params", ...)
    if len(loc) >= 3 and loc[0] == "rules" and isinstance(loc[1], int):
        tag, loc = str(loc[2]), (*loc[:2], *loc[3:])
    if err["type"] == "duplicate_rule":
        loc, tag = ("rules", ctx["index"], "id"), str(ctx["rule_id"])
    elif err["type"] in ("union_tag_invalid", "union_tag_not_found"):
        loc = (*loc, "id")
    message = str(err["msg"])
    if err["type"] == "union_tag_invalid":
        message = f"unknown rule id '{ctx['tag']}'; the ids are {', '.join(RULE_IDS)}"
    elif err["type"] == "union_tag_not_found":
        message = "a rule needs an id"
    line = next((lines[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in lines), 1)
    return Problem(line, _field_path(loc, tag), message)


def _field_path(loc: tuple[str | int, ...], tag: str | None = None) -> str:
    """``("rules", 7, "params", "threshold_c")`` -> ``rules[7] (fever).params.threshold_c``."""
    out = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
            if i == 1 and tag:
                out += f" ({tag})"
        else:
            out += f".{part}" if out else str(part)
    return out


__all__ = [
    "RULE_IDS",
    "AnyRuleSpec",
    "Catalogue",
    "CatalogueError",
    "Duration",
    "Problem",
    "RuleParams",
    "RuleSpec",
    "format_duration",
    "load_catalogue",
    "packaged_catalogue",
    "parse_catalogue",
    "parse_duration",
]
