"""Pydantic models of the enterprise fact contract (``docs``: shared guide ``fact-contract.md``).

One JSON object per enterprise; only ``id`` is required. *Absent* means unknown, an explicit ``null``
means known not to exist: :py:meth:`pydantic.BaseModel.model_dump` with ``exclude_unset=True`` keeps that
distinction at every nesting level. Unknown extra fields are kept (``extra="allow"``).

Annotations are deliberately plain (``X | None``, ``list[Model] | None``, ``Model | None``, ``bool``,
``str``, ``date``, ``datetime``, the ``StrEnum``\\s, and :data:`BoundedInt` — ``Annotated[int, …]`` — for
every integer) because the policy type checker reads them.
Strictness comes from ``Field(strict=True)`` on booleans and integers (no ``"true"`` -> ``True``, no
``"5"`` -> ``5``) and from a before-validator on every date field (each model lists its own) that accepts
dates only as ``date`` objects or ``YYYY-MM-DD`` strings, and instants only as timezone-aware ``datetime``
objects or ISO 8601 strings with an offset (pydantic's lax mode would take numbers as Unix timestamps).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from safetyrules.limits import DEFAULT, Limits

# --------------------------------------------------------------------------------------------------------
# Enumerations
# --------------------------------------------------------------------------------------------------------


class Industry(StrEnum):
    """行业领域 / industry."""

    CONSTRUCTION = "construction"
    HAZARDOUS_GOODS_PRODUCTION = "hazardous_goods_production"
    HAZARDOUS_GOODS_TRADE = "hazardous_goods_trade"
    HAZARDOUS_GOODS_STORAGE = "hazardous_goods_storage"
    MINING = "mining"
    METAL_SMELTING = "metal_smelting"
    ROAD_TRANSPORT = "road_transport"
    FIREWORKS = "fireworks"
    INDUSTRY_TRADE = "industry_trade"
    MANUFACTURING = "manufacturing"
    RETAIL = "retail"
    CATERING = "catering"
    OTHER = "other"


class PrincipalRole(StrEnum):
    """主要负责人身份 / role of the principal."""

    LEGAL_REPRESENTATIVE = "legal_representative"
    ACTUAL_CONTROLLER = "actual_controller"


class StaffRole(StrEnum):
    """人员类别 / staff role."""

    PRINCIPAL = "principal"
    SAFETY_MANAGER = "safety_manager"
    SPECIAL_OPERATOR = "special_operator"
    GENERAL = "general"


class ChangeKind(StrEnum):
    """变更类型 / kind of change."""

    PROCESS = "process"
    SYSTEM = "system"
    EQUIPMENT = "equipment"
    MANAGEMENT_STRUCTURE = "management_structure"
    RULES = "rules"


class ReportKind(StrEnum):
    """报告类型 / kind of report."""

    RISK_LIST = "risk_list"
    DUAL_REPORT = "dual_report"
    HAZARD = "hazard"


class ReportChannel(StrEnum):
    """报告渠道 / channel a report went through."""

    PLATFORM = "platform"
    WORKERS_CONGRESS = "workers_congress"


class HazardCause(StrEnum):
    """隐患成因 / cause of a hazard."""

    ILLEGAL_COMMAND = "illegal_command"
    ILLEGAL_OPERATION = "illegal_operation"
    EQUIPMENT_FAILURE = "equipment_failure"
    MANAGEMENT = "management"
    OTHER = "other"


class FindingKind(StrEnum):
    """执法检查发现类型 / kind of inspection finding."""

    EVASION = "evasion"
    MONITORING_DESTROYED = "monitoring_destroyed"
    OTHER = "other"


class AccidentSeverity(StrEnum):
    """事故等级 / accident severity."""

    GENERAL = "general"
    LARGER = "larger"
    MAJOR = "major"
    ESPECIALLY_MAJOR = "especially_major"


class RiskLevel(StrEnum):
    """风险分级管控层级 / level of graded risk control."""

    ENTERPRISE = "enterprise"
    WORKSHOP = "workshop"
    TEAM = "team"
    POST = "post"


ENUM_LABELS_ZH: dict[type[StrEnum], dict[str, str]] = {
    Industry: {
        "construction": "建筑施工",
        "hazardous_goods_production": "危险物品生产",
        "hazardous_goods_trade": "危险物品经营",
        "hazardous_goods_storage": "危险物品储存",
        "mining": "矿山",
        "metal_smelting": "金属冶炼",
        "road_transport": "道路运输",
        "fireworks": "烟花爆竹",
        "industry_trade": "工贸",
        "manufacturing": "制造业",
        "retail": "零售",
        "catering": "餐饮",
        "other": "其他",
    },
    PrincipalRole: {"legal_representative": "法定代表人", "actual_controller": "实际控制人"},
    StaffRole: {
        "principal": "主要负责人",
        "safety_manager": "安全生产管理人员",
        "special_operator": "特种作业人员",
        "general": "一般从业人员",
    },
    ChangeKind: {
        "process": "工艺",
        "system": "系统",
        "equipment": "设备",
        "management_structure": "管理体制",
        "rules": "管理制度",
    },
    ReportKind: {"risk_list": "风险清单", "dual_report": "双报告", "hazard": "隐患"},
    ReportChannel: {"platform": "智慧安监平台", "workers_congress": "职代会"},
    HazardCause: {
        "illegal_command": "违章指挥",
        "illegal_operation": "违章作业",
        "equipment_failure": "设备缺陷",
        "management": "管理缺陷",
        "other": "其他",
    },
    FindingKind: {"evasion": "逃避/对抗监管", "monitoring_destroyed": "破坏监测监控设施", "other": "其他"},
    AccidentSeverity: {"general": "一般", "larger": "较大", "major": "重大", "especially_major": "特别重大"},
    RiskLevel: {"enterprise": "企业", "workshop": "车间", "team": "班组", "post": "岗位"},
}
"""Chinese label of every code of every enumeration of the contract."""


def label_zh(enum_value: StrEnum) -> str:
    """The Chinese label of an enumeration code, e.g. ``label_zh(Industry.MINING) == "矿山"``."""
    return ENUM_LABELS_ZH[type(enum_value)][enum_value.value]


# --------------------------------------------------------------------------------------------------------
# Date and instant parsing (shared by every model through FactModel)
# --------------------------------------------------------------------------------------------------------

_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}.*", re.DOTALL)


def parse_date(value: object) -> dt.date:
    """A ``date`` from a ``date`` object or a ``YYYY-MM-DD`` string; anything else is an error."""
    if isinstance(value, dt.datetime):
        raise PydanticCustomError("date_type", "Input should be a date (YYYY-MM-DD), not a date and time")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        if not _DATE_RE.fullmatch(value):
            raise PydanticCustomError("date_format", "Input should be a date in the format YYYY-MM-DD")
        try:
            return dt.date.fromisoformat(value)
        except ValueError as exc:
            raise PydanticCustomError(
                "date_value", "Input is not a valid date: {reason}", {"reason": str(exc)}
            ) from None
    raise PydanticCustomError("date_type", "Input should be a date in the format YYYY-MM-DD")


def parse_datetime(value: object) -> dt.datetime:
    """A timezone-aware ``datetime`` from an aware ``datetime`` or an ISO 8601 string with an offset."""
    if isinstance(value, dt.datetime):
        result = value
    elif isinstance(value, str) and _DATETIME_RE.fullmatch(value):
        try:
            result = dt.datetime.fromisoformat(value)
        except ValueError as exc:
            raise PydanticCustomError(
                "datetime_value", "Input is not a valid date and time: {reason}", {"reason": str(exc)}
            ) from None
    else:
        raise PydanticCustomError(
            "datetime_type",
            "Input should be an ISO 8601 date and time with an offset, e.g. 2021-08-09T10:20:00+08:00",
        )
    if result.tzinfo is None or result.utcoffset() is None:
        raise PydanticCustomError(
            "timezone_aware", "Input should have a timezone offset, e.g. 2021-08-09T10:20:00+08:00"
        )
    return result


class FactModel(BaseModel):
    """Base of all fact models: unknown extra fields are kept."""

    model_config = ConfigDict(extra="allow")


def _date_or_none(value: object) -> object:
    return value if value is None else parse_date(value)


LOCAL_TIMEZONE = dt.timezone(dt.timedelta(hours=8), "+08:00")
"""The local time of the facts (附件4: China; `timezone "+08:00"` in policies/annex4/05-facts.policy). An instant
recorded with any offset is converted to it when a record is read, so that its date — the day an accident
happened — is the local day whatever the offset it was written with: 2023-09-30T20:00Z is 2023-10-01 here."""


def _datetime_or_none(value: object) -> object:
    if value is None:
        return value
    instant = parse_datetime(value)
    try:
        return instant.astimezone(LOCAL_TIMEZONE)
    except OverflowError:  # at the calendar's very ends local time is past 9999-12-31: keep its own offset
        return instant


def parse_items(parse: Callable[[object], object]) -> Callable[[object], object]:
    """A `before` validator parsing every item of a list with `parse`, reporting each bad one at its own
    index (None, or a value that is not a list, is left to pydantic)."""
    def parse_all(value: object) -> object:
        if not isinstance(value, list):
            return value
        parsed: list[object] = []
        errors: list[InitErrorDetails] = []
        for index, item in enumerate(value):
            try:
                parsed.append(parse(item))
            except PydanticCustomError as exc:
                errors.append(InitErrorDetails(type=exc, loc=(index,), input=item))
        if errors:
            raise ValidationError.from_exception_data("items", errors)
        return parsed

    return parse_all


_date_list_or_none = parse_items(parse_date)
"""Parse every item of a list of dates, reporting each bad one at its own index."""


def _dates(*names: str) -> Any:
    """Strict parsing of the named ``date | None`` fields; each model lists its date fields."""
    return field_validator(*names, mode="before")(_date_or_none)


def _instants(*names: str) -> Any:
    """Strict parsing of the named ``datetime | None`` fields."""
    return field_validator(*names, mode="before")(_datetime_or_none)


def _within_int_limit(value: int, info: ValidationInfo) -> int:
    """Refuse an integer beyond ``Limits.max_int`` (the limits come from the validation context, key
    ``"limits"``): past it the columnar engine overflows (2**63) or its sums wrap."""
    context = info.context
    limits = context.get("limits", DEFAULT) if isinstance(context, dict) else DEFAULT
    if not isinstance(limits, Limits):
        limits = DEFAULT
    if not limits.check_int(value):
        raise PydanticCustomError(
            "int_limit",
            "Input is beyond the integer limit ±{limit}",
            {"limit": limits.max_int},
        )
    return value


BoundedInt = Annotated[int, AfterValidator(_within_int_limit)]
"""The type of every integer field of the contract: an ``int`` within ``±Limits.max_int``."""


# Field helpers: every field documents its meaning in Chinese and English.


def _opt(description: str) -> Any:
    return Field(default=None, description=description)


def _flag(description: str) -> Any:
    return Field(default=None, description=description, strict=True)


def _count(description: str) -> Any:
    return Field(default=None, description=description, strict=True, ge=0)


def _not_before(value: Any, info: ValidationInfo, earlier_field: str, error_type: str, message: str) -> Any:
    """Raise ``error_type`` if ``value`` lies before the already validated ``earlier_field``."""
    earlier = info.data.get(earlier_field)
    if value is not None and earlier is not None and value < earlier:
        raise PydanticCustomError(
            error_type, message, {"value": value.isoformat(), "earlier": earlier.isoformat()}
        )
    return value


# --------------------------------------------------------------------------------------------------------
# Nested objects and list items
# --------------------------------------------------------------------------------------------------------


class Principal(FactModel):
    """主要负责人 / the principal (legal representative or actual controller)."""

    name: str | None = _opt("姓名 / name")
    role: PrincipalRole | None = _opt(
        "身份：法定代表人或实际控制人 / legal representative or actual controller"
    )
    competence_certificate_expires_on: dt.date | None = _opt(
        "安全生产知识和管理能力考核合格证有效期至 / competence certificate valid until (expiry date)"
    )
    safety_training_passed_on: dt.date | None = _opt("安全培训考核合格日期 / date safety training was passed")

    _strict_dates = _dates("competence_certificate_expires_on", "safety_training_passed_on")


class ResponsibilitySystem(FactModel):
    """全员安全生产责任制 / the safety responsibility system."""

    established_on: dt.date | None = _opt(
        "建立日期；null 表示未建立 / date established; null: not established"
    )
    covers_all_positions: bool | None = _flag(
        "覆盖所有管理和作业岗位 / covers every management and operating post"
    )
    one_post_dual_duty: bool | None = _flag("落实一岗双责 / one post, dual duty (一岗双责) implemented")
    assessment_results_published: bool | None = _flag(
        "考核结果已公示 / internal assessment results published"
    )

    _strict_dates = _dates("established_on")


class FiveInPlace(FactModel):
    """五到位 / the five things in place."""

    responsibility: bool | None = _flag("责任到位 / responsibility in place")
    management: bool | None = _flag("管理到位 / management in place")
    investment: bool | None = _flag("投入到位 / investment in place")
    training: bool | None = _flag("培训到位 / training in place")
    emergency_rescue: bool | None = _flag("应急救援到位 / emergency rescue in place")


class Management(FactModel):
    """安全管理机构和人员 / safety management body and staff."""

    safety_body: bool | None = _flag("设置安全生产管理机构 / has a safety management body")
    full_time_safety_staff: BoundedInt | None = _count("专职安全生产管理人员数 / number of full-time safety staff")
    part_time_safety_staff: BoundedInt | None = _count("兼职安全生产管理人员数 / number of part-time safety staff")
    technical_team: bool | None = _flag("有安全技术管理团队 / has a safety technical and management team")
    technical_lead: str | None = _opt("技术负责人 / name of the technical lead")


class SafetyCost(FactModel):
    """某年度安全生产费用（元） / one year's safety costs, in whole yuan."""

    year: BoundedInt | None = Field(default=None, description="年度 / calendar year", strict=True, ge=1, le=9999)
    required: BoundedInt | None = _count("应提取金额（元） / amount required to be extracted (yuan)")
    extracted: BoundedInt | None = _count("实际提取金额（元） / amount extracted (yuan)")
    used: BoundedInt | None = _count("实际使用金额（元） / amount used (yuan)")
    misappropriated: BoundedInt | None = _count("挪用金额（元） / amount misappropriated (yuan)")
    internal_audit: bool | None = _flag("使用情况经内部审计 / use audited internally")
    external_audit: bool | None = _flag("使用情况经外部审计 / use audited externally")


class Ppe(FactModel):
    """劳动防护用品 / personal protective equipment."""

    provided: bool | None = _flag("已配备 / provided")
    standard_compliant: bool | None = _flag("符合国家或行业标准 / meets national or industry standards")
    worn: bool | None = _flag("按规定佩戴使用 / worn as required")


class TrainingSystem(FactModel):
    """安全教育培训制度 / the safety training system."""

    established_on: dt.date | None = _opt(
        "建立日期；null 表示未建立 / date established; null: not established"
    )
    has_assessment_standard: bool | None = _flag("有考核标准 / has assessment standards")

    _strict_dates = _dates("established_on")


class StaffMember(FactModel):
    """从业人员 / a member of staff."""

    id: str | None = _opt("人员编号 / staff identifier")
    role: StaffRole | None = _opt("人员类别 / role")
    special_operation: str | None = _opt(
        "特种作业类别（如 electrician） / special operation, e.g. electrician"
    )
    hired_on: dt.date | None = _opt("入职日期 / date hired")
    on_duty: bool | None = _flag("在岗 / currently on duty")
    mentor_id: str | None = _opt("师傅的人员编号（以师带徒） / staff id of the mentor (apprenticeship)")
    certificate_expires_on: dt.date | None = _opt(
        "特种作业操作证有效期至 / special operation certificate valid until (expiry date)"
    )
    safety_training_passed_on: dt.date | None = _opt("安全培训考核合格日期 / date safety training was passed")

    _strict_dates = _dates("hired_on", "certificate_expires_on", "safety_training_passed_on")


class RiskAssessment(FactModel):
    """风险辨识评估 / a risk identification and assessment."""

    date: dt.date | None = _opt("评估日期 / date of the assessment")
    comprehensive: bool | None = _flag("全面辨识评估 / comprehensive assessment")
    risk_list_updated: bool | None = _flag("风险清单已随之更新 / risk list updated with it")

    _strict_dates = _dates("date")


class Change(FactModel):
    """工艺、系统、设备、管理体制或制度的变更 / a change of process, system, equipment, structure or rules."""

    date: dt.date | None = _opt("变更日期 / date of the change")
    kind: ChangeKind | None = _opt("变更类型 / kind of change")
    major: bool | None = _flag("重大变更 / major change")
    authorized: bool | None = _flag("经审批 / authorized")

    _strict_dates = _dates("date")


class RiskControl(FactModel):
    """风险分级管控体系 / the graded risk control system."""

    established_on: dt.date | None = _opt(
        "建立日期；null 表示未建立 / date established; null: not established"
    )
    levels: list[RiskLevel] | None = _opt("落实管控责任的层级 / levels with assigned control duties")

    _strict_dates = _dates("established_on")


class RiskCommunication(FactModel):
    """风险告知 / risk communication."""

    bulletin_board: bool | None = _flag("设置风险公告栏 / risk bulletin board in place")
    post_cards_for_all_posts: bool | None = _flag("所有岗位发放风险告知卡 / risk card issued for every post")
    major_risk_sites: BoundedInt | None = _count("重大风险场所数 / number of major risk sites")
    major_risk_sites_signed_and_monitored: BoundedInt | None = _count(
        "设置警示标志并监测监控的重大风险场所数 / major risk sites with warning signs and monitoring"
    )


class Report(FactModel):
    """一次报告 / one report made by the enterprise."""

    kind: ReportKind | None = _opt("报告类型 / kind of report")
    channel: ReportChannel | None = _opt("报告渠道 / channel")
    date: dt.date | None = _opt("报告日期 / date of the report")

    _strict_dates = _dates("date")


class HazardSystem(FactModel):
    """隐患排查治理制度 / the hazard investigation system."""

    established_on: dt.date | None = _opt(
        "建立日期；null 表示未建立 / date established; null: not established"
    )
    has_checklist: bool | None = _flag("有隐患排查清单 / has a hazard checklist")
    on_platform_since: dt.date | None = _opt(
        "隐患在平台管理的起始日期；null 表示未上平台 / hazards managed on the platform since; null: not on it"
    )

    _strict_dates = _dates("established_on", "on_platform_since")


class HazardPlan(FactModel):
    """重大隐患治理方案（五落实） / remediation plan of a major hazard."""

    responsibility: bool | None = _flag("责任落实 / responsibility assigned")
    measures: bool | None = _flag("措施落实 / measures set")
    funds: bool | None = _flag("资金落实 / funds provided")
    time_limit: dt.date | None = _opt("治理时限 / deadline of the remediation")
    contingency: bool | None = _flag("预案落实 / contingency plan in place")
    made_on: dt.date | None = _opt("方案制定日期 / date the plan was made")

    _strict_dates = _dates("time_limit", "made_on")


class Hazard(FactModel):
    """一项事故隐患 / one hazard."""

    id: str | None = _opt("隐患编号 / hazard identifier")
    major: bool | None = _flag("重大事故隐患 / major hazard")
    found_on: dt.date | None = _opt("发现日期 / date found")
    reported_on: dt.date | None = _opt("报告日期；null 表示未报告 / date reported; null: not reported")
    cause: HazardCause | None = _opt("成因 / cause")
    plan: HazardPlan | None = _opt("治理方案；null 表示没有 / remediation plan; null: none")
    remediated_on: dt.date | None = _opt(
        "整改完成日期；null 表示尚未整改 / date remediated; null: still open"
    )
    verified_on: dt.date | None = _opt("验收日期；null 表示尚未验收 / date verified; null: not verified")

    _strict_dates = _dates("found_on", "reported_on", "remediated_on", "verified_on")

    @field_validator("remediated_on")
    @classmethod
    def _remediated_after_found(cls, value: dt.date | None, info: ValidationInfo) -> dt.date | None:
        return _not_before(  # type: ignore[no-any-return]
            value,
            info,
            "found_on",
            "remediated_before_found",
            "remediated on {value}, before the hazard was found on {earlier}",
        )

    @field_validator("verified_on")
    @classmethod
    def _verified_after_found(cls, value: dt.date | None, info: ValidationInfo) -> dt.date | None:
        return _not_before(  # type: ignore[no-any-return]
            value,
            info,
            "found_on",
            "verified_before_found",
            "verified on {value}, before the hazard was found on {earlier}",
        )


class Commitment(FactModel):
    """安全承诺 / a published safety commitment."""

    published_on: dt.date | None = _opt("公开承诺日期 / date published")
    to_public: bool | None = _flag("向社会承诺 / made to the public")
    to_staff: bool | None = _flag("向从业人员承诺 / made to the staff")

    _strict_dates = _dates("published_on")


class Accident(FactModel):
    """一起生产安全事故 / one accident."""

    id: str | None = _opt("事故编号 / accident identifier")
    occurred_at: dt.datetime | None = _opt("发生时间（带时区） / when it occurred (with offset)")
    principal_informed_at: dt.datetime | None = _opt(
        "主要负责人接报时间；null 表示未接报 / when the principal was informed; null: never"
    )
    reported_at: dt.datetime | None = _opt("向监管部门报告时间；null 表示未报告 / when reported; null: never")
    report_false: bool | None = _flag("谎报或瞒报 / false or concealed report")
    severity: AccidentSeverity | None = _opt("事故等级 / severity")

    _strict_instants = _instants("occurred_at", "principal_informed_at", "reported_at")

    @field_validator("principal_informed_at")
    @classmethod
    def _informed_after_occurred(cls, value: dt.datetime | None, info: ValidationInfo) -> dt.datetime | None:
        return _not_before(  # type: ignore[no-any-return]
            value,
            info,
            "occurred_at",
            "informed_before_occurred",
            "principal informed at {value}, before the accident occurred at {earlier}",
        )

    @field_validator("reported_at")
    @classmethod
    def _reported_after_occurred(cls, value: dt.datetime | None, info: ValidationInfo) -> dt.datetime | None:
        return _not_before(  # type: ignore[no-any-return]
            value,
            info,
            "occurred_at",
            "reported_before_occurred",
            "reported at {value}, before the accident occurred at {earlier}",
        )


class InspectionFinding(FactModel):
    """执法检查发现 / a finding of an inspection."""

    date: dt.date | None = _opt("检查日期 / date of the inspection")
    kind: FindingKind | None = _opt("发现类型 / kind of finding")
    record: str | None = _opt("执法文书编号 / enforcement record number")

    _strict_dates = _dates("date")


class Insurance(FactModel):
    """保险 / an insurance policy."""

    kind: str | None = _opt("险种（如 safety_liability 安全生产责任保险） / kind, e.g. safety_liability")
    starts_on: dt.date | None = _opt("保险起期 / first day of cover")
    ends_on: dt.date | None = _opt("保险止期 / last day of cover (expiry date)")

    _strict_dates = _dates("starts_on", "ends_on")

    @field_validator("ends_on")
    @classmethod
    def _ends_after_start(cls, value: dt.date | None, info: ValidationInfo) -> dt.date | None:
        return _not_before(  # type: ignore[no-any-return]
            value,
            info,
            "starts_on",
            "ends_before_starts",
            "cover ends on {value}, before it starts on {earlier}",
        )


# --------------------------------------------------------------------------------------------------------
# The enterprise (root)
# --------------------------------------------------------------------------------------------------------


class Enterprise(FactModel):
    """一家企业的全部事实 / all facts about one enterprise (root of the fact contract)."""

    id: str = Field(
        description="统一社会信用代码或其他唯一标识 / unified social credit code or other unique id"
    )
    name: str | None = _opt("企业名称 / name")
    village: str | None = _opt("所在镇（村、社区） / town or village")
    industry: Industry | None = _opt("行业领域 / industry")
    above_designated_size: bool | None = _flag("规模以上企业 / above designated size (规模以上)")
    established_on: dt.date | None = _opt("成立日期 / date the enterprise was established")
    employee_count: BoundedInt | None = _count("从业人员数 / number of employees")
    principal: Principal | None = _opt("主要负责人 / the principal")
    responsibility_system: ResponsibilitySystem | None = _opt(
        "全员安全生产责任制 / safety responsibility system"
    )
    internal_assessments: list[dt.date] | None = _opt(
        "内部监督考核日期 / dates of internal supervision and assessment"
    )
    five_in_place: FiveInPlace | None = _opt("五到位 / the five things in place")
    management: Management | None = _opt("安全管理机构和人员 / safety management body and staff")
    safety_costs: list[SafetyCost] | None = _opt("安全生产费用（按年） / safety costs, per year")
    obsolete_equipment_in_use: BoundedInt | None = _count(
        "在用淘汰落后设备、工艺数量 / number of obsolete pieces of equipment or processes in use"
    )
    ppe: Ppe | None = _opt("劳动防护用品 / personal protective equipment")
    training_system: TrainingSystem | None = _opt("安全教育培训制度 / safety training system")
    staff: list[StaffMember] | None = _opt("从业人员 / staff")
    standardization_self_assessed_on: dt.date | None = _opt(
        "安全生产标准化（GB/T 33000-2016）自评日期；null 表示未自评 / standardization self-assessment date"
    )
    risk_assessments: list[RiskAssessment] | None = _opt("风险辨识评估 / risk assessments")
    changes: list[Change] | None = _opt("变更 / changes")
    risk_control: RiskControl | None = _opt("风险分级管控 / graded risk control")
    risk_communication: RiskCommunication | None = _opt("风险告知 / risk communication")
    reports: list[Report] | None = _opt("报告（风险清单、双报告、隐患） / reports made")
    hazard_system: HazardSystem | None = _opt("隐患排查治理制度 / hazard investigation system")
    hazards: list[Hazard] | None = _opt("事故隐患 / hazards")
    commitments: list[Commitment] | None = _opt("安全承诺 / safety commitments")
    accidents: list[Accident] | None = _opt("生产安全事故 / accidents")
    inspection_findings: list[InspectionFinding] | None = _opt("执法检查发现 / inspection findings")
    insurance: list[Insurance] | None = _opt("保险 / insurance policies")

    _strict_dates = _dates("established_on", "standardization_self_assessed_on")

    @field_validator("id")
    @classmethod
    def _id_not_blank(cls, value: str) -> str:
        # an empty id cannot name the enterprise in a finding, and every blank one would be "the same"
        if not value.strip():
            raise PydanticCustomError("empty_id", "the id is empty")
        return value

    _strict_date_list = field_validator("internal_assessments", mode="before")(_date_list_or_none)


def json_schema_bounds(node: Any) -> Any:
    """Write integer bounds as JSON Schema's ``minimum``/``maximum``: pydantic leaves the ``ge``/``le`` of a
    field whose type carries its own validator (:data:`BoundedInt`) under their Python names, which JSON
    Schema validators ignore."""
    if isinstance(node, dict):
        if node.get("type") == "integer":
            for python, json_name in (("ge", "minimum"), ("le", "maximum")):
                if python in node:
                    node[json_name] = node.pop(python)
        for value in node.values():
            json_schema_bounds(value)
    elif isinstance(node, list):
        for value in node:
            json_schema_bounds(value)
    return node


def enterprise_json_schema() -> dict[str, Any]:
    """JSON Schema of :class:`Enterprise`; enumerations carry their Chinese labels (``x-labels-zh``)."""
    schema = Enterprise.model_json_schema()
    json_schema_bounds(schema)
    defs: dict[str, Any] = schema.get("$defs", {})
    for enum_type, labels in ENUM_LABELS_ZH.items():
        entry = defs.get(enum_type.__name__)
        if entry is not None:
            entry["x-labels-zh"] = dict(labels)
            entry["description"] = "; ".join(f"{code} {zh}" for code, zh in labels.items())
    return schema
