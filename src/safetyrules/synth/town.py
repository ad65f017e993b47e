"""A seeded generator of a synthetic town: realistic enterprises of a town of Yongchun County (永春县).

    from safetyrules.synth import generate, write_town
    for record in generate(1000, seed=7):           # JSON-ready dicts in the fact contract
        ...
    write_town("examples/town.jsonl", 300, seed=2020)

Every record validates with :class:`safetyrules.facts.models.Enterprise`. The output depends only on
``(count, seed, start, end)`` (one private ``random.Random(seed)``, never the global generator), and a
shorter run is a prefix of a longer one with the same seed, start and end.

What the population looks like
------------------------------
* Industries are weighted for a county town (many manufacturing, retail, catering, industry & trade and
  construction firms; some road transport and hazardous-goods trade/storage; few mines, smelters,
  fireworks and hazardous-goods producers). Employees 3–800, skewed small; about a quarter of the firms
  are above designated size (规模以上). Villages are the communities and villages of a town (桃城镇; the
  names are plausible, partly made up). Ids are unified social credit codes of Yongchun (``91350525…``)
  with valid GB 11714 and GB 32100 check characters, unique within a run.
* Each firm has a hidden *diligence* in [0, 1] that drives all its compliance probabilities, so that good
  and bad practice cluster in the same firms as they do in a real town.
* Histories run from ``start`` to ``end`` and are a snapshot taken on ``end``: no event is dated after
  ``end`` (expiry dates, plan time limits and insurance end dates may be). A plan, a remediation or a
  report that would only come after ``end`` is not there yet (``null``).
* Gaps: each optional section is absent (unknown) for a few per cent of the firms, and explicit ``null``
  is used where the contract gives it meaning (a system not established, a hazard still open, an accident
  never reported, …).
* Rare misconduct is *stratified*: besides its low background rate, each block of :data:`BLOCK` firms
  contains one firm that evaded supervision, one that destroyed monitoring equipment, one that changed a
  process without authorization, one with a major hazard caused by illegal command or operation, and one
  accident that was concealed, falsely reported or reported late (the three in turn, block by block), all
  within the last year before ``end``. So every credit trigger of the seed policy fires in any town of
  ``3 * BLOCK`` firms evaluated on ``end``, whatever the seed.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

__all__ = ["BLOCK", "INDUSTRY_WEIGHTS", "TOWN", "VILLAGES", "generate", "uscc_check_char", "write_town"]

# --------------------------------------------------------------------------------------------------------
# The town
# --------------------------------------------------------------------------------------------------------

TOWN = "桃城镇"
"""The town whose enterprises are generated."""

VILLAGES: tuple[tuple[str, float], ...] = (
    ("桃东社区", 14.0),
    ("环城社区", 13.0),
    ("八二三社区", 10.0),
    ("留安村", 11.0),
    ("花石村", 9.0),
    ("丰山村", 8.0),
    ("洛阳村", 7.0),
    ("上沙村", 8.0),
    ("大羽村", 6.0),
    ("济川村", 6.0),
    ("茂霞村", 8.0),
)
"""Villages and communities of the town, with weights (the town-centre communities hold more firms)."""

INDUSTRY_WEIGHTS: dict[str, float] = {
    "manufacturing": 24.0,
    "retail": 16.0,
    "catering": 12.0,
    "industry_trade": 12.0,
    "construction": 9.0,
    "other": 8.0,
    "road_transport": 5.0,
    "hazardous_goods_trade": 4.0,
    "hazardous_goods_storage": 2.0,
    "mining": 1.5,
    "metal_smelting": 1.5,
    "fireworks": 1.5,
    "hazardous_goods_production": 1.5,
}
"""Relative frequency of each industry code in the town."""

BLOCK = 100
"""Every block of this many firms holds one instance of each rare misconduct (see the module doc)."""



def _policy_values() -> tuple[dict[str, frozenset[str]], int]:
    """What the town takes from the seed policy, so that it follows the policy it is generated for instead of
    repeating it: the industry sets — its `set<industry>` params at their defaults (`Policy.params`) and its
    definitions of that type, evaluated by the reference engine from those params (`key_industries`: the
    high-risk industries plus fireworks and industry & trade) — and the staff count above which a safety body
    or full-time safety staff is required (`safety_staff_threshold`)."""
    from safetyrules.api import load_policy

    policy = load_policy()
    params = {p.name: p.default for p in policy.params()}
    sets = {p.name: frozenset(p.default) for p in policy.params() if p.type == "set<industry>"}
    interp = policy.engine().facts_interpreter({}, dt.date(2022, 12, 31), lambda _: "unknown")
    for name, decl in policy.program.defines.items():
        if str(policy.program.define_types[name]) == "set<industry>":
            sets[name] = frozenset(interp.evaluate(decl.value)[0])
    return sets, int(params["safety_staff_threshold"])


_SETS, STAFF_THRESHOLD = _policy_values()
HIGH_RISK = _SETS["high_risk_industries"]
KEY = _SETS["key_industries"]
COST_BOUND = _SETS["cost_extraction_industries"]
INSURANCE_COMPULSORY = _SETS["insurance_industries"]
TECHNICAL_TEAM = _SETS["technical_team_industries"]
INDUSTRIAL = frozenset({"manufacturing", "industry_trade", "mining", "metal_smelting", "fireworks",
                        "hazardous_goods_production"})
"""Industries whose firms can be above designated size by the industrial threshold."""

# Median employees (the log-normal's median) per industry.
_MEDIAN_SIZE: dict[str, float] = {
    "manufacturing": 30.0, "industry_trade": 22.0, "construction": 35.0, "retail": 6.0, "catering": 9.0,
    "road_transport": 18.0, "hazardous_goods_trade": 8.0, "hazardous_goods_storage": 12.0, "mining": 45.0,
    "metal_smelting": 60.0, "fireworks": 30.0, "hazardous_goods_production": 50.0, "other": 10.0,
}

_TRADE_WORDS: dict[str, tuple[str, ...]] = {
    "manufacturing": ("香业", "制香", "陶瓷", "机械制造", "鞋业", "服装", "纸制品", "竹木制品", "包装材料",
                      "五金制品", "食品", "茶业", "老醋酿造", "漆篮工艺", "电子科技", "新型建材", "塑胶制品"),
    "industry_trade": ("工贸", "实业", "石材", "木业", "纺织", "茶叶加工"),
    "retail": ("商贸", "超市", "百货", "日用品", "农资", "五金建材商行"),
    "catering": ("餐饮管理", "饮食", "酒店管理", "农家菜", "小吃"),
    "construction": ("建筑工程", "建设工程", "装饰工程", "市政工程", "水利水电工程"),
    "road_transport": ("运输", "物流", "汽车运输", "客运", "货运"),
    "hazardous_goods_trade": ("燃气", "石化", "化工贸易", "液化气", "加油站"),
    "hazardous_goods_storage": ("仓储", "危险品仓储", "化工仓储", "油库"),
    "hazardous_goods_production": ("化工", "化学", "工业气体", "精细化工"),
    "mining": ("矿业", "石料", "石英砂", "采石"),
    "metal_smelting": ("冶金", "铸造", "合金", "金属材料"),
    "fireworks": ("烟花爆竹", "花炮", "烟花爆竹经营"),
    "other": ("科技", "文化传媒", "物业管理", "农业开发", "电子商务", "茶叶专业合作社"),
}

_TRADE_NAME_CHARS = ("鑫顺兴达源泰恒福华盛永春桃溪新宏丰益德利佳美嘉龙凯金联众荣通锦瑞祥隆"
                     "晟昌裕鸿辉明成和安康富汇捷诚信远航峰茂旺发景天博宇志进")
_SURNAMES = "林陈郑李黄王颜潘刘周张吴余康尤宋苏洪郭赖"

_SPECIAL_OPERATIONS: dict[str, tuple[str, ...]] = {
    "construction": ("electrician", "welder", "crane_operator", "work_at_height", "scaffolder"),
    "mining": ("electrician", "blaster", "hoist_operator", "drainage_operator"),
    "metal_smelting": ("electrician", "welder", "crane_operator", "gas_operator"),
    "road_transport": ("electrician", "forklift_operator"),
    "hazardous_goods_production": ("electrician", "chemical_process_operator", "pressure_vessel_operator"),
    "hazardous_goods_storage": ("electrician", "forklift_operator", "hazardous_chemicals_operator"),
    "hazardous_goods_trade": ("electrician", "gas_filling_operator", "hazardous_chemicals_operator"),
    "fireworks": ("electrician", "fireworks_operator"),
    "catering": ("electrician", "gas_operator"),
    "retail": ("electrician",),
    "other": ("electrician",),
}
_DEFAULT_OPERATIONS = ("electrician", "welder", "forklift_operator", "boiler_operator", "refrigeration_operator")

_CHANGE_KINDS = ("process", "system", "equipment", "management_structure", "rules")
_CHANGE_WEIGHTS = (3.0, 1.5, 4.0, 1.0, 2.0)
_CAUSES = ("illegal_command", "illegal_operation", "equipment_failure", "management", "other")
_MAJOR_CAUSE_WEIGHTS = (0.08, 0.14, 0.42, 0.26, 0.10)
_MINOR_CAUSE_WEIGHTS = (0.04, 0.16, 0.35, 0.30, 0.15)
_LEVELS = ("enterprise", "workshop", "team", "post")

_SHOWCASE_FIXED = ("evasion", "monitoring_destroyed", "process_change", "illegal_major_hazard")
_SHOWCASE_ACCIDENTS = ("accident_concealed", "accident_false", "accident_late")
_SHOWCASE_INDUSTRIES: dict[str, frozenset[str]] = {
    "monitoring_destroyed": frozenset(INDUSTRIAL | HIGH_RISK),
    "process_change": frozenset(INDUSTRIAL | {"hazardous_goods_storage"}),
    "illegal_major_hazard": frozenset(INDUSTRIAL | HIGH_RISK),
}

# --------------------------------------------------------------------------------------------------------
# Unified social credit codes (GB 32100-2015, with the GB 11714 organization code inside)
# --------------------------------------------------------------------------------------------------------

_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {c: i for i, c in enumerate(_USCC_CHARS)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_REGION = "91350525"  # 9 registered by market regulation, 1 enterprise, 350525 永春县


def uscc_check_char(first17: str) -> str:
    """The 18th (check) character of a unified social credit code (GB 32100-2015)."""
    total = sum(_USCC_VALUE[c] * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_CHARS[(31 - total % 31) % 31]


def _org_check_char(body8: str) -> str:
    """The check character of a GB 11714 organization code body of 8 characters."""
    total = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(body8, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


# --------------------------------------------------------------------------------------------------------
# Dates as ordinals
# --------------------------------------------------------------------------------------------------------

_ISO_CACHE: dict[int, str] = {}


def _iso(ordinal: int) -> str:
    try:
        return _ISO_CACHE[ordinal]
    except KeyError:
        text = _ISO_CACHE[ordinal] = dt.date.fromordinal(ordinal).isoformat()
        return text


def _fill_iso_cache(first: int, last: int) -> None:
    """Format every day of [first, last] once (most dates of a run fall in it)."""
    if first in _ISO_CACHE and last in _ISO_CACHE:
        return
    day = dt.date.fromordinal(first)
    one = dt.timedelta(days=1)
    for ordinal in range(first, last + 1):
        _ISO_CACHE[ordinal] = day.isoformat()
        day += one


def _instant(ordinal: int, minute_of_day: int) -> str:
    """An instant in China time, ``minute_of_day`` minutes after midnight of the day (may roll over)."""
    day, minute = divmod(minute_of_day, 1440)
    return f"{_iso(ordinal + day)}T{minute // 60:02d}:{minute % 60:02d}:00+08:00"


def _add_years(ordinal: int, years: int) -> int:
    day = dt.date.fromordinal(ordinal)
    try:
        return day.replace(year=day.year + years).toordinal()
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28).toordinal()


@functools.cache
def _ordinal(year: int, month: int = 1, day: int = 1) -> int:
    return dt.date(year, month, day).toordinal()


_USCC_REFORM = _ordinal(2015, 10, 1)
_CAMPAIGN_START = _ordinal(2020, 4, 1)
_DEADLINE_2020 = _ordinal(2020, 12, 31)
_DEADLINE_2021 = _ordinal(2021, 12, 31)
_DEADLINE_2022 = _ordinal(2022, 12, 31)
_DUAL_REPORT_FROM = _ordinal(2021, 1, 1)
_GRACE_DAYS = 90


# --------------------------------------------------------------------------------------------------------
# One firm
# --------------------------------------------------------------------------------------------------------


class _Firm:
    """Builds one enterprise record; all randomness comes from the shared ``rng``."""

    __slots__ = ("above", "big", "end", "est", "high_risk", "industry", "lo", "n", "principal_known",
                 "principal_trained", "q", "rand", "rec", "reports", "rng", "showcase", "start")

    def __init__(self, rng: random.Random, start: int, end: int, showcase: str | None) -> None:
        self.rng = rng
        self.rand: Callable[[], float] = rng.random
        self.start = start
        self.end = end
        self.showcase = showcase
        self.rec: dict[str, Any] = {}
        self.reports: list[tuple[int, str, str]] = []
        self.industry = ""
        self.high_risk = False
        self.est = start
        self.lo = start
        self.n = 3
        self.big = False
        self.above = False
        self.q = 1.0
        self.principal_known = False
        self.principal_trained: str | None = None

    # -------------------------------------------------------------- helpers
    def p(self, lax: float, diligent: float) -> float:
        """A probability between its value for the laxest and for the most diligent firm."""
        return lax + (diligent - lax) * self.q

    def chance(self, probability: float) -> bool:
        return self.rand() < probability

    def ok(self, lax: float, diligent: float) -> bool:
        return self.rand() < lax + (diligent - lax) * self.q

    def absent(self, probability: float = 0.05) -> bool:
        """Whether an optional section is left out (unknown)."""
        return self.rand() < probability

    def ri(self, first: int, last: int) -> int:
        """A random integer in [first, last] (``random.randint`` is several times slower)."""
        return first + int(self.rand() * (last - first + 1))

    def day(self, first: int, last: int) -> int:
        """A uniformly random day in [first, last] (``first`` when the range is empty)."""
        return first if last <= first else first + int(self.rand() * (last - first + 1))

    def recent(self) -> int:
        """A day within the last year before ``end`` (for showcase misconduct: listed on ``end``)."""
        return self.day(max(self.lo, self.end - 330), self.end - 2)

    def system_date(self, deadline: int, on_time: float, ever: float) -> int | None:
        """When a system was set up (None: not by ``end``); ``deadline`` is moved for new entrants."""
        if self.end - self.est < 180:
            ever *= 0.5  # a firm of a few months has not set everything up yet
        if not self.chance(ever):
            return None
        deadline = max(deadline, self.est + _GRACE_DAYS)
        first = max(self.est, self.start - 730)
        if self.chance(on_time) or deadline >= self.end:
            when = self.day(first, min(deadline, self.end))
        else:
            when = self.day(deadline + 1, self.end)
        return when if when <= self.end else None

    def person(self) -> str:
        return self.rng.choice(_SURNAMES) + ("某" if self.chance(0.6) else "某某")

    # -------------------------------------------------------------- the record
    def build(self, ids: set[str], names: set[str], industry: str, village: str) -> dict[str, Any]:
        rng = self.rng
        rec = self.rec
        self.industry = industry
        self.high_risk = industry in HIGH_RISK
        self.q = rng.betavariate(2.6, 1.0)
        if self.showcase is not None:
            self.q *= 0.6  # misconduct comes from the laxer firms
        # establishment: most before start, ~15 % new entrants
        if self.chance(0.15):
            self.est = self.day(self.start, self.end - 20)
        else:
            years_before = min(27.0, rng.expovariate(1 / 7.0))
            self.est = self.start - 1 - int(years_before * 365.25)
        if self.showcase is not None:
            self.est = min(self.est, self.end - 120)
        self.lo = max(self.est, self.start)
        n = round(math.exp(rng.gauss(math.log(_MEDIAN_SIZE[industry]), 0.95)))
        self.n = n = max(3, min(800, n))
        self.big = n > STAFF_THRESHOLD
        if industry in INDUSTRIAL:
            p_above = 1 / (1 + math.exp(-2.4 * (math.log(n) - math.log(45))))
        else:
            p_above = 0.8 / (1 + math.exp(-2.0 * (math.log(n) - math.log(40))))
        self.above = self.chance(p_above)

        # codes with an "MA" organization part are issued since the reform of October 2015
        rec["id"] = _new_id(rng, ids, new=self.est >= _USCC_REFORM or self.chance(0.3))
        rec["name"] = _new_name(rng, names, industry)
        rec["village"] = village
        rec["industry"] = industry
        if not self.absent(0.02):
            rec["above_designated_size"] = self.above
        rec["established_on"] = _iso(self.est)
        if not self.absent(0.02):
            rec["employee_count"] = n

        self.principal()
        self.responsibility()
        self.internal_assessments()
        self.five_in_place()
        self.management()
        self.safety_costs()
        if not self.absent(0.04):
            rec["obsolete_equipment_in_use"] = (
                0 if self.ok(0.6, 1.0) or industry in ("retail", "catering") else self.ri(1, 3))
        self.ppe()
        self.training_system()
        self.staff()
        self.standardization()
        self.risks()
        self.risk_control()
        self.risk_communication()
        self.hazard_system()
        self.hazards()
        self.periodic_reports()
        self.commitments()
        self.accidents()
        self.inspection_findings()
        self.insurance()
        return rec

    # -------------------------------------------------------------- 责任体系
    def principal(self) -> None:
        if self.absent(0.04):
            return
        principal: dict[str, Any] = {
            "name": self.person(),
            "role": "legal_representative" if self.chance(0.85) else "actual_controller",
        }
        if (self.high_risk and not self.absent(0.05)) or self.chance(0.25):
            if self.ok(0.5, 0.99):
                principal["competence_certificate_expires_on"] = _iso(self.day(self.end + 1, self.end + 1095))
            else:
                principal["competence_certificate_expires_on"] = _iso(self.day(self.end - 700, self.end - 1))
        if not self.absent(0.04):
            passed = self.ok(0.55, 1.0)
            self.principal_trained = (
                _iso(self.day(max(self.est, self.start - 1000), self.end - 1)) if passed else None)
            self.principal_known = True
            principal["safety_training_passed_on"] = self.principal_trained
        self.rec["principal"] = principal

    def responsibility(self) -> None:
        if self.absent():
            return
        when = self.system_date(_DEADLINE_2020, self.p(0.5, 0.98), self.p(0.65, 1.0))
        system: dict[str, Any] = {"established_on": None if when is None else _iso(when)}
        if when is not None:
            for key, lax in (("covers_all_positions", 0.65), ("one_post_dual_duty", 0.5),
                             ("assessment_results_published", 0.4)):
                if not self.absent(0.02):
                    system[key] = self.ok(lax, 1.0)
        elif self.chance(0.3):
            system["covers_all_positions"] = False
        self.rec["responsibility_system"] = system

    def internal_assessments(self) -> None:
        if self.absent():
            return
        dates: list[str] = []
        if self.ok(0.7, 1.0):
            keep = self.p(0.45, 0.99)
            for year in range(dt.date.fromordinal(self.lo).year, dt.date.fromordinal(self.end).year + 1):
                when = _ordinal(year, 1, 5) + self.ri(0, 80)
                if self.lo <= when <= self.end and self.chance(keep):
                    dates.append(_iso(when))
        self.rec["internal_assessments"] = dates

    def five_in_place(self) -> None:
        if self.absent():
            return
        keys = ("responsibility", "management", "investment", "training", "emergency_rescue")
        if self.ok(0.3, 0.99):
            five = dict.fromkeys(keys, True)
        else:
            five = {k: self.chance(0.7) for k in keys}
            five[self.rng.choice(keys)] = False
        self.rec["five_in_place"] = five

    # -------------------------------------------------------------- 管理制度
    def management(self) -> None:
        if self.absent(0.04):
            return
        strict = self.high_risk or self.big
        body = self.chance(min(0.95, 0.05 + 0.45 * self.big + 0.3 * self.high_risk + 0.2 * (self.n > 300)))
        if self.ok(0.45, 0.99):
            full = self.ri(1, 2 + self.n // 150) if (strict or self.chance(0.2)) else 0
            part = self.ri(0, 2) if full else self.ri(1, 2)
        else:
            body = body and not strict
            full = 0
            part = self.ri(0, 1) if strict else 0
        management: dict[str, Any] = {"safety_body": body, "full_time_safety_staff": full,
                                      "part_time_safety_staff": part}
        if self.industry in TECHNICAL_TEAM:
            if self.ok(0.35, 0.99):
                management["technical_team"] = True
                management["technical_lead"] = self.person()
            else:
                management["technical_team"] = self.chance(0.3)
                management["technical_lead"] = None
        elif self.big or self.chance(0.15):
            management["technical_team"] = True
            management["technical_lead"] = self.person()
        self.rec["management"] = management

    def safety_costs(self) -> None:
        if self.industry not in COST_BOUND or self.absent(0.06):
            return
        rng = self.rng
        revenue = self.n * rng.uniform(150_000, 600_000)
        rate = {"construction": 0.015, "mining": 0.03, "fireworks": 0.025}.get(self.industry, 0.02)
        full = self.p(0.55, 0.995)
        audit_in = self.p(0.45, 0.99)
        audit_ex = self.p(0.3, 0.98)
        rows: list[dict[str, Any]] = []
        for year in range(dt.date.fromordinal(self.lo).year, dt.date.fromordinal(self.end).year + 1):
            if self.chance(0.04):
                continue  # a year with no figures: unknown
            required = int(round(revenue * rate * rng.uniform(0.85, 1.15), -2))
            extracted = required if self.chance(full) else int(round(required * rng.uniform(0.4, 0.95), -2))
            misappropriated = 0 if self.ok(0.85, 1.0) else int(round(extracted * rng.uniform(0.05, 0.3), -2))
            rows.append({
                "year": year, "required": required, "extracted": extracted,
                "used": int(round(extracted * rng.uniform(0.8, 1.02), -2)),
                "misappropriated": misappropriated,
                "internal_audit": self.chance(audit_in), "external_audit": self.chance(audit_ex),
            })
        self.rec["safety_costs"] = rows

    def ppe(self) -> None:
        if self.absent():
            return
        provided = self.ok(0.8, 1.0)
        self.rec["ppe"] = {"provided": provided, "standard_compliant": provided and self.ok(0.8, 1.0),
                           "worn": provided and self.ok(0.65, 0.995)}

    def training_system(self) -> None:
        if self.absent():
            return
        when = self.system_date(_DEADLINE_2022, 1.0, self.p(0.45, 1.0))
        system: dict[str, Any] = {"established_on": None if when is None else _iso(when)}
        if when is not None:
            system["has_assessment_standard"] = self.ok(0.55, 1.0)
        self.rec["training_system"] = system

    def staff(self) -> None:
        if self.absent():
            return
        rng = self.rng
        end = self.end
        size = min(self.n, self.ri(3, 12))
        managers = min(size - 1, (1 if self.high_risk or self.big or self.chance(0.4) else 0) + (self.n > 200))
        operations = _SPECIAL_OPERATIONS.get(self.industry, _DEFAULT_OPERATIONS)
        operators = min(size - 1 - managers, self.ri(0, 4 if self.industry not in ("retail", "other") else 1))
        trained = self.p(0.88, 1.0)
        valid_cert = self.p(0.75, 0.995)
        mentored = self.p(0.3, 0.995) if self.industry in KEY else 0.4
        members: list[dict[str, Any]] = []
        senior: list[str] = []
        for index in range(size):
            sid = f"E{index + 1:03d}"
            if index == 0:
                role = "principal"
            elif index <= managers:
                role = "safety_manager"
            elif index <= managers + operators:
                role = "special_operator"
            else:
                role = "general"
            if index == 0:
                hired = self.est
            elif self.chance(0.18):
                hired = self.day(max(self.est, end - 360), end - 1)
            else:
                hired = self.day(self.est, max(self.est, end - 400))
            new_hire = index > 0 and hired > end - 365
            member: dict[str, Any] = {"id": sid, "role": role}
            if role == "special_operator":
                member["special_operation"] = rng.choice(operations)
            member["hired_on"] = _iso(hired)
            member["on_duty"] = index == 0 or self.chance(0.95)
            if new_hire:
                member["mentor_id"] = rng.choice(senior) if senior and self.chance(mentored) else None
            if role == "special_operator":
                if self.chance(valid_cert):
                    member["certificate_expires_on"] = _iso(self.day(end + 1, end + 6 * 365))
                elif not self.absent(0.3):
                    member["certificate_expires_on"] = _iso(self.day(end - 900, end - 1))
            passed = hired + self.ri(2, 30)
            if index == 0 and self.principal_known:  # the principal's own record
                member["safety_training_passed_on"] = self.principal_trained
            else:
                member["safety_training_passed_on"] = (_iso(passed) if passed <= end and self.chance(trained)
                                                       else None)
            if not new_hire:
                senior.append(sid)
            members.append(member)
        self.rec["staff"] = members

    def standardization(self) -> None:
        if self.absent():
            return
        required = self.high_risk or self.above
        done = self.ok(0.3, 0.95) if required else self.chance(0.08)
        first = max(self.est + 30, _ordinal(2020, 6, 1))
        self.rec["standardization_self_assessed_on"] = (
            _iso(self.day(first, self.end)) if done and first <= self.end else None)

    # -------------------------------------------------------------- 风险防控
    def risks(self) -> None:
        """Risk assessments and changes (a major change calls for a reassessment)."""
        rng = self.rng
        end = self.end
        assessments: list[tuple[int, bool, bool]] = []  # (date, comprehensive, risk list updated)
        updated = self.p(0.55, 1.0)
        if self.ok(0.65, 1.0):
            if self.high_risk:
                keep = self.p(0.45, 0.995)
                for year in range(dt.date.fromordinal(self.lo).year, dt.date.fromordinal(end).year + 1):
                    when = _ordinal(year, 3, 1) + self.ri(0, 240)
                    if self.lo <= when <= end and self.chance(keep):
                        assessments.append((when, self.chance(0.95), self.chance(updated)))
            else:
                keep_going = self.ok(0.4, 1.0)
                when = self.day(self.lo, self.lo + (1000 if keep_going else 500))
                while when <= end:
                    assessments.append((when, True, self.chance(updated)))
                    if not keep_going and self.chance(0.7):
                        break
                    when += self.ri(600, 1050)
        changes: list[dict[str, Any]] = []
        count = rng.choices((0, 1, 2, 3), (0.45, 0.3, 0.18, 0.07))[0]
        if self.industry in ("retail", "catering", "other"):
            count = min(count, 1)
        reassess = self.p(0.35, 1.0)
        for _ in range(count):
            when = self.day(self.lo, end)
            kind = rng.choices(_CHANGE_KINDS, _CHANGE_WEIGHTS)[0]
            change: dict[str, Any] = {"date": when, "kind": kind, "major": self.chance(0.35),
                                      "authorized": not (kind == "process" and self.chance(0.03))}
            changes.append(change)
        if self.showcase == "process_change":
            changes.append({"date": self.recent(), "kind": "process", "major": self.chance(0.5),
                            "authorized": False})
        for change in changes:
            if change["major"]:
                if self.chance(reassess):
                    after = change["date"] + self.ri(2, 28)
                elif self.chance(0.5):
                    after = change["date"] + self.ri(35, 150)
                else:
                    continue
                if after <= end:
                    assessments.append((after, False, self.chance(updated)))
        if not self.absent():
            assessments.sort()
            self.rec["risk_assessments"] = [
                {"date": _iso(d), "comprehensive": c, "risk_list_updated": u} for d, c, u in assessments]
        if self.showcase == "process_change" or not self.absent(0.06):
            changes.sort(key=lambda c: int(c["date"]))
            for change in changes:
                change["date"] = _iso(change["date"])
            self.rec["changes"] = changes

    def risk_control(self) -> None:
        if self.absent():
            return
        when = self.system_date(_DEADLINE_2021, self.p(0.45, 0.98), self.p(0.45, 1.0))
        if when is None:
            self.rec["risk_control"] = {"established_on": None, "levels": []}
            return
        levels = list(_LEVELS)
        if not self.ok(0.55, 0.99):
            levels.remove(self.rng.choice(_LEVELS))
        self.rec["risk_control"] = {"established_on": _iso(when), "levels": levels}

    def risk_communication(self) -> None:
        if self.absent():
            return
        sites = 0
        if self.industry in HIGH_RISK | INDUSTRIAL and self.chance(0.45 if self.high_risk else 0.2):
            sites = self.ri(1, 3)
        signed = sites if self.ok(0.45, 0.98) else self.ri(0, max(0, sites - 1))
        self.rec["risk_communication"] = {
            "bulletin_board": self.ok(0.55, 1.0), "post_cards_for_all_posts": self.ok(0.4, 1.0),
            "major_risk_sites": sites, "major_risk_sites_signed_and_monitored": signed}

    # -------------------------------------------------------------- 隐患排查治理
    def hazard_system(self) -> None:
        if self.absent():
            return
        when = self.system_date(_DEADLINE_2020, self.p(0.5, 0.98), self.p(0.5, 1.0))
        system: dict[str, Any] = {"established_on": None if when is None else _iso(when)}
        if when is not None:
            system["has_checklist"] = self.ok(0.55, 1.0)
            platform = self.system_date(_DEADLINE_2021, self.p(0.5, 0.98), self.p(0.4, 1.0))
            system["on_platform_since"] = None if platform is None else _iso(max(platform, when))
        else:
            system["on_platform_since"] = None
        self.rec["hazard_system"] = system

    def hazards(self) -> None:
        rng = self.rng
        end = self.end
        absent = self.absent() and self.showcase != "illegal_major_hazard"
        hazards: list[tuple[int, dict[str, Any]]] = []
        for _ in range(rng.choices((0, 1, 2, 3), (0.35, 0.3, 0.2, 0.15))[0]):
            found = self.day(self.lo, end)
            hazard: dict[str, Any] = {"major": False, "found_on": _iso(found),
                                      "cause": rng.choices(_CAUSES, _MINOR_CAUSE_WEIGHTS)[0]}
            reported = found + self.ri(0, 5)
            hazard["reported_on"] = _iso(reported) if reported <= end and self.ok(0.6, 1.0) else None
            fixed = found + self.ri(1, 45)
            if fixed <= end and self.ok(0.7, 1.0):
                verified = fixed + self.ri(0, 10)
                hazard["remediated_on"] = _iso(fixed)
                hazard["verified_on"] = _iso(verified) if verified <= end else None
            else:
                hazard["remediated_on"] = None
                hazard["verified_on"] = None
            hazards.append((found, hazard))
        majors = 1 if self.chance(0.08 + 0.06 * self.high_risk) else 0
        for index in range(majors + (self.showcase == "illegal_major_hazard")):
            if index == majors:  # the showcase
                hazards.append(self.major_hazard(self.recent(), rng.choice(_CAUSES[:2])))
            else:
                found = self.day(self.lo, end)
                hazards.append(self.major_hazard(found, rng.choices(_CAUSES, _MAJOR_CAUSE_WEIGHTS)[0]))
        hazards.sort(key=lambda h: h[0])
        counter: dict[int, int] = {}
        for found, hazard in hazards:
            year = dt.date.fromordinal(found).year
            counter[year] = counter.get(year, 0) + 1
            hazard["id"] = f"H-{year}-{counter[year]:03d}"
            if hazard["reported_on"] is not None:
                self.reports.append((dt.date.fromisoformat(hazard["reported_on"]).toordinal(), "hazard", "platform"))
        if not absent:
            self.rec["hazards"] = [{"id": h.pop("id"), **h} for _, h in hazards]

    def major_hazard(self, found: int, cause: str) -> tuple[int, dict[str, Any]]:
        rng = self.rng
        end = self.end
        hazard: dict[str, Any] = {"major": True, "found_on": _iso(found), "cause": cause}
        # a hazard of illegal command or operation is mostly exposed by an inspection, not self-reported
        roll = rng.random() * (2.0 if cause in _CAUSES[:2] else 1.0)
        reported: int | None
        if roll < self.p(0.5, 0.97):
            reported = found + (0 if self.chance(0.7) else 1)
        elif roll < self.p(0.8, 1.0):
            reported = found + self.ri(2, 12)
        else:
            reported = None
        hazard["reported_on"] = _iso(reported) if reported is not None and reported <= end else None
        time_limit = found + self.ri(30, 120)
        roll = rng.random()
        plan: dict[str, Any] | None
        if roll < self.p(0.05, 0.0):
            plan = None
        else:
            five = roll < self.p(0.55, 1.0)
            made = found + (self.ri(1, 6) if five or self.chance(0.5) else self.ri(8, 30))
            plan = {"responsibility": True, "measures": True, "funds": True, "time_limit": _iso(time_limit),
                    "contingency": True, "made_on": _iso(made)}
            if not five:
                plan[rng.choice(("responsibility", "funds", "contingency", "funds"))] = False
            if made > end:
                plan = None  # not made yet
        hazard["plan"] = plan
        roll = rng.random()
        if roll < self.p(0.4, 0.96):
            fixed = self.day(found + 3, time_limit - 3)
            verified = fixed + self.ri(0, min(3, time_limit - fixed))
        elif roll < self.p(0.75, 1.0):
            fixed = time_limit + self.ri(3, 60)
            verified = fixed + self.ri(0, 10)
        else:
            fixed = verified = end + 1
        hazard["remediated_on"] = _iso(fixed) if fixed <= end else None
        hazard["verified_on"] = _iso(verified) if fixed <= end and verified <= end else None
        return found, hazard

    def periodic_reports(self) -> None:
        """Risk lists on the platform (quarterly) and dual reports on both channels (monthly)."""
        end = self.end
        reports = self.reports
        first = max(self.lo, _CAMPAIGN_START)
        if self.ok(0.75, 1.0):
            keep = self.p(0.55, 0.99)
            stop = end + 1 if self.ok(0.7, 1.0) else self.day(first, end)
            day = dt.date.fromordinal(first)
            year, quarter = day.year, (day.month - 1) // 3
            while True:
                when = _ordinal(year, quarter * 3 + 1) + self.ri(5, 75)
                if when > end:
                    break
                if first <= when < stop and self.chance(keep):
                    reports.append((when, "risk_list", "platform"))
                year, quarter = (year + 1, 0) if quarter == 3 else (year, quarter + 1)
        first = max(self.lo, _DUAL_REPORT_FROM)
        if first <= end and self.ok(0.45 if self.n < 20 else 0.65, 1.0):
            keep = self.p(0.6, 0.995)
            congress = self.p(0.7, 1.0)
            stop = end + 1 if self.ok(0.7, 1.0) else self.day(first, end)
            day = dt.date.fromordinal(first)
            year, month = day.year, day.month
            rand = self.rand
            append = reports.append
            while True:
                when = _ordinal(year, month) + int(rand() * 20)
                if when > end:
                    break
                if first <= when < stop and rand() < keep:
                    append((when, "dual_report", "platform"))
                    later = when + int(rand() * 8)
                    if later <= end and rand() < congress:
                        append((later, "dual_report", "workers_congress"))
                year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        if self.absent():
            return
        reports.sort()
        iso = _ISO_CACHE  # filled by generate() for every day of the period
        self.rec["reports"] = [{"kind": kind, "channel": channel, "date": iso[when]}
                               for when, kind, channel in reports]

    # -------------------------------------------------------------- 社会治理与监管执法
    def commitments(self) -> None:
        if self.absent():
            return
        rows: list[dict[str, Any]] = []
        if self.ok(0.7, 1.0):
            keep = self.p(0.5, 0.99)
            for year in range(dt.date.fromordinal(max(self.lo, _ordinal(2020))).year,
                              dt.date.fromordinal(self.end).year + 1):
                when = _ordinal(year, 1, 2) + self.ri(0, 100)
                if self.lo <= when <= self.end and self.chance(keep):
                    both = self.ok(0.75, 1.0)
                    rows.append({"published_on": _iso(when), "to_public": both or self.chance(0.5),
                                 "to_staff": True if both else self.chance(0.3)})
        self.rec["commitments"] = rows

    def accidents(self) -> None:
        rng = self.rng
        showcase = self.showcase if self.showcase in _SHOWCASE_ACCIDENTS else None
        if self.absent(0.07) and showcase is None:
            return
        rows: list[tuple[int, int, str | None]] = []  # (day, minute, behaviour)
        if self.chance(0.025 + 0.02 * self.high_risk):
            for _ in range(1 if self.chance(0.9) else 2):
                roll = rng.random()
                behaviour = ("accident_concealed" if roll < 0.03 else "accident_false" if roll < 0.05
                             else "accident_late" if roll < 0.13 else None)
                rows.append((self.day(self.lo, self.end - 1), self.ri(420, 1140), behaviour))
        if showcase is not None:
            rows.append((self.recent(), self.ri(420, 1140), showcase))
        rows.sort(key=lambda r: (r[0], r[1]))
        accidents: list[dict[str, Any]] = []
        counter: dict[int, int] = {}
        for when, minute, behaviour in rows:
            year = dt.date.fromordinal(when).year
            counter[year] = counter.get(year, 0) + 1
            accident: dict[str, Any] = {"id": f"A-{year}-{counter[year]:02d}",
                                        "occurred_at": _instant(when, minute)}
            informed = minute + self.ri(0, 40)
            if not self.absent(0.15):
                accident["principal_informed_at"] = _instant(when, informed)
            else:
                informed = minute
            if behaviour == "accident_concealed":
                accident["reported_at"] = None
                accident["report_false"] = False
            else:
                if behaviour == "accident_late":
                    delay = self.ri(61, 600)
                elif self.chance(0.08):
                    delay = 60  # exactly one hour: still on time
                else:
                    delay = self.ri(5, 59)
                accident["reported_at"] = _instant(when, informed + delay)
                accident["report_false"] = behaviour == "accident_false"
            accident["severity"] = "general" if self.chance(0.93) else "larger"
            accidents.append(accident)
        self.rec["accidents"] = accidents

    def inspection_findings(self) -> None:
        rng = self.rng
        showcase = self.showcase if self.showcase in ("evasion", "monitoring_destroyed") else None
        if self.absent(0.07) and showcase is None:
            return
        rows: list[tuple[int, str]] = []
        for _ in range(rng.choices((0, 1, 2), (0.72, 0.22, 0.06))[0]):
            rows.append((self.day(self.lo, self.end), "other"))
        if self.chance(0.004):
            rows.append((self.day(self.lo, self.end), "evasion"))
        if self.chance(0.003):
            rows.append((self.day(self.lo, self.end), "monitoring_destroyed"))
        if showcase is not None:
            rows.append((self.recent(), showcase))
        rows.sort()
        findings: list[dict[str, Any]] = []
        for when, kind in rows:
            year = dt.date.fromordinal(when).year
            doc = "责改" if kind == "other" else "罚"
            findings.append({"date": _iso(when), "kind": kind,
                             "record": f"永应急{doc}〔{year}〕{self.ri(1, 180)}号"})
        self.rec["inspection_findings"] = findings

    def insurance(self) -> None:
        if self.absent():
            return
        rows: list[dict[str, Any]] = []
        compulsory = self.industry in INSURANCE_COMPULSORY
        if (compulsory or self.chance(0.12)) and self.ok(0.6, 1.0):
            renew = self.p(0.55, 0.99) if compulsory else 0.7
            when = self.day(self.lo, self.lo + 400)
            while when <= self.end:
                ends = _add_years(when, 1) - 1
                rows.append({"kind": "safety_liability", "starts_on": _iso(when), "ends_on": _iso(ends)})
                when = ends + 1
                if not self.chance(renew):  # a lapse
                    when += self.ri(30, 400)
        if self.big and self.chance(0.3):
            when = self.day(self.lo, self.end)
            rows.append({"kind": "employer_liability", "starts_on": _iso(when),
                         "ends_on": _iso(_add_years(when, 1) - 1)})
        self.rec["insurance"] = rows


# --------------------------------------------------------------------------------------------------------
# The town
# --------------------------------------------------------------------------------------------------------


def _weighted(options: dict[str, float], allowed: frozenset[str] | None = None) -> tuple[list[str], list[float]]:
    keys = [k for k in options if allowed is None or k in allowed]
    cumulative: list[float] = []
    total = 0.0
    for k in keys:
        total += options[k]
        cumulative.append(total)
    return keys, cumulative


def generate(count: int, seed: int = 0, start: dt.date = dt.date(2019, 1, 1),
             end: dt.date = dt.date(2022, 12, 31)) -> Iterator[dict[str, Any]]:
    """``count`` synthetic enterprises of the town, as JSON-ready dicts of the fact contract.

    Deterministic for ``(count, seed, start, end)``; the first ``k`` records of a run do not depend on
    ``count``. Histories run from ``start`` to ``end`` (a snapshot on ``end``); ``end`` must lie at least
    a year after ``start``.
    """
    if count < 0:
        raise ValueError(f"count must not be negative, got {count}")
    if end.toordinal() - start.toordinal() < 365:
        raise ValueError(f"end ({end}) must lie at least a year after start ({start})")
    if start.year < 1950 or end.year > 2999:
        raise ValueError(f"dates from 1950 to 2999 only, got {start} .. {end}")
    rng = random.Random(seed)
    first, last = start.toordinal(), end.toordinal()
    _fill_iso_cache(first - 28 * 366, last + 7 * 366)
    industries, industry_cum = _weighted(INDUSTRY_WEIGHTS)
    showcase_pools = {kind: _weighted(INDUSTRY_WEIGHTS, allowed) for kind, allowed in _SHOWCASE_INDUSTRIES.items()}
    villages = [v for v, _ in VILLAGES]
    village_cum = _weighted(dict(VILLAGES))[1]
    accident_turn = rng.randrange(len(_SHOWCASE_ACCIDENTS))
    ids: set[str] = set()
    names: set[str] = set()
    plan: dict[int, str] = {}
    for index in range(count):
        block, slot = divmod(index, BLOCK)
        if slot == 0:
            kinds = [*_SHOWCASE_FIXED, _SHOWCASE_ACCIDENTS[(block + accident_turn) % len(_SHOWCASE_ACCIDENTS)]]
            plan = dict(zip(rng.sample(range(BLOCK), len(kinds)), kinds, strict=True))
        showcase = plan.get(slot)
        pool = showcase_pools.get(showcase) if showcase is not None else None
        keys, cum = pool if pool is not None else (industries, industry_cum)
        industry = rng.choices(keys, cum_weights=cum)[0]
        village = rng.choices(villages, cum_weights=village_cum)[0]
        yield _Firm(rng, first, last, showcase).build(ids, names, industry, village)


def _new_id(rng: random.Random, taken: set[str], new: bool) -> str:
    """A unique unified social credit code of 永春县 (new-style ``MA`` organization part, or numeric)."""
    while True:
        if new:
            body = "MA" + rng.choice("23") + "".join(rng.choices(_USCC_CHARS, k=5))
        else:
            body = rng.choice("1567") + "".join(rng.choices("0123456789", k=7))
        first17 = _REGION + body + _org_check_char(body)
        uid = first17 + uscc_check_char(first17)
        if uid not in taken:
            taken.add(uid)
            return uid


def _new_name(rng: random.Random, taken: set[str], industry: str) -> str:
    words = _TRADE_WORDS[industry]
    name = ""
    for attempt in range(20):
        brand = "".join(rng.sample(_TRADE_NAME_CHARS, 2 if attempt < 10 else 3))
        name = f"永春县{brand}{rng.choice(words)}有限公司"
        if name not in taken:
            break
    taken.add(name)
    return name


def write_town(path: str | Path, count: int = 300, seed: int = 2020) -> int:
    """Write ``count`` enterprises of ``generate(count, seed)`` as JSON Lines (UTF-8); the number written."""
    written = 0
    with Path(path).open("w", encoding="utf-8", newline="\n") as out:
        for record in generate(count, seed):
            out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
            out.write("\n")
            written += 1
    return written
