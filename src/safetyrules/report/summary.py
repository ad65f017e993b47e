"""The population summary a regulator wants first: compliance per obligation and per village, the
enforcement candidates, the active credit triggers and the most overdue items."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from safetyrules.engine.results import OUTCOME_ZH, EnterpriseResult, Outcome, RuleResult

OUTCOME_STYLE = {
    Outcome.VIOLATED: "bold red", Outcome.PENDING: "yellow", Outcome.SATISFIED: "green",
    Outcome.NOT_APPLICABLE: "dim", Outcome.UNKNOWN: "magenta", Outcome.TRIGGERED: "bold red",
    Outcome.EXPIRED: "dim", Outcome.NOT_TRIGGERED: "green",
}


@dataclass(slots=True)
class Overdue:
    enterprise: str
    name: str
    village: str
    rule: str
    implements: tuple[str, ...]
    due_on: dt.date | None
    days_overdue: int


@dataclass(slots=True)
class Summary:
    as_of: dt.date
    enterprises: int = 0
    by_rule: dict[str, Counter[Outcome]] = field(default_factory=lambda: defaultdict(Counter))
    rule_ids: dict[str, tuple[str, ...]] = field(default_factory=dict)
    rule_titles: dict[str, tuple[str, str]] = field(default_factory=dict)
    by_village: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    candidates: list[tuple[str, str, str, list[str]]] = field(default_factory=list)
    triggers: list[tuple[str, str, str, tuple[str, ...], dt.date | None]] = field(default_factory=list)
    overdue: list[Overdue] = field(default_factory=list)
    top: int = 10
    subject: str = "enterprise"  # what a record is: the policy's subject (`venue` for a declared schema)
    villages: bool = True  # records have a `village` (the 附件4 contract): a table per village
    # the rules declared `candidate` (who is an enforcement candidate): "violated" means "is a candidate", so
    # they are listed as candidates, not as obligations with a compliance rate
    candidate_rules: frozenset[str] = frozenset()

    @classmethod
    def for_policy(cls, as_of: dt.date, policy: Any, top: int = 10) -> Summary:
        """An empty summary for the records of `policy` (an `api.Policy`): named after its subject, with a
        table per village when its records have a village."""
        return cls(as_of, top=top, subject=policy.contract.subject,
                   villages="village" in policy.contract.model.model_fields,
                   candidate_rules=policy.program.candidate_rules())

    def add(self, result: EnterpriseResult, name: str = "", village: str = "") -> None:
        self.enterprises += 1
        village = village or "（未知 unknown）"
        any_violation = False
        for r in result.results:
            self.by_rule[r.rule][r.outcome] += 1
            self.rule_ids.setdefault(r.rule, r.implements)
            self.rule_titles.setdefault(r.rule, (r.title.zh, r.title.en))
            candidate = r.rule in self.candidate_rules
            if r.outcome is Outcome.VIOLATED and not candidate:
                any_violation = True
                if r.days_overdue is not None:
                    self._keep_overdue(Overdue(result.enterprise, name, village, r.rule, r.implements,
                                               r.due_on, r.days_overdue))
            if candidate and r.outcome is Outcome.VIOLATED:
                self.candidates.append((result.enterprise, name, village, _violated_uses(r, result)))
            if r.outcome is Outcome.TRIGGERED:
                self.triggers.append((result.enterprise, name, r.rule, r.implements, r.listed_until))
        self.by_village[village]["enterprises"] += 1
        if any_violation:
            self.by_village[village]["with_violation"] += 1
        if any(r.rule in self.candidate_rules and r.outcome is Outcome.VIOLATED for r in result.results):
            self.by_village[village]["candidates"] += 1

    def _keep_overdue(self, item: Overdue) -> None:
        self.overdue.append(item)
        if len(self.overdue) > 4 * self.top:  # keep memory bounded on large populations
            self.overdue.sort(key=lambda o: (-o.days_overdue, o.enterprise, o.rule))
            del self.overdue[self.top:]

    def most_overdue(self) -> list[Overdue]:
        return sorted(self.overdue, key=lambda o: (-o.days_overdue, o.enterprise, o.rule))[: self.top]

    def compliance_rate(self, rule: str) -> float | None:
        """Satisfied among the judged (satisfied or violated); none for a candidate rule (being one is not
        non-compliance of its own: the obligations it reads are counted)."""
        if rule in self.candidate_rules:
            return None
        c = self.by_rule[rule]
        judged = c[Outcome.SATISFIED] + c[Outcome.VIOLATED]
        return c[Outcome.SATISFIED] / judged if judged else None

    def to_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "enterprises": self.enterprises,
            "by_rule": [
                {"rule": rule, "implements": list(self.rule_ids[rule]),
                 "title": {"zh": self.rule_titles[rule][0], "en": self.rule_titles[rule][1]},
                 "counts": {str(o): n for o, n in sorted(c.items())},
                 "compliance_rate": self.compliance_rate(rule), "candidate": rule in self.candidate_rules}
                for rule, c in self.by_rule.items()],
            "by_village": {v: dict(c) for v, c in sorted(self.by_village.items())},
            "enforcement_candidates": [{"enterprise": e, "name": n, "village": v, "violated": rules}
                                       for e, n, v, rules in self.candidates],
            "active_triggers": [{"enterprise": e, "name": n, "rule": r, "implements": list(i),
                                 "listed_until": d.isoformat() if d else None}
                                for e, n, r, i, d in self.triggers],
            "most_overdue": [{"enterprise": o.enterprise, "name": o.name, "village": o.village, "rule": o.rule,
                              "implements": list(o.implements), "due_on": o.due_on.isoformat() if o.due_on else None,
                              "days_overdue": o.days_overdue} for o in self.most_overdue()],
        }

    # ------------------------------------------------------------------ rendering
    def render(self, console: Console) -> None:
        console.print(self._rule_table())
        if self.villages:
            console.print(self._village_table())
        self._render_candidates(console)
        self._render_triggers(console)
        console.print(self._overdue_table())

    def _rule_table(self) -> Table:
        table = Table(title=f"各项义务合规情况 Compliance per obligation — as of {self.as_of} — "
                            f"{self.enterprises} {self._noun}", title_justify="left")
        table.add_column("条款 id")
        table.add_column("义务 obligation")
        for o, head in ((Outcome.VIOLATED, "违反"), (Outcome.PENDING, "待履行"), (Outcome.SATISFIED, "符合"),
                        (Outcome.NOT_APPLICABLE, "不适用"), (Outcome.UNKNOWN, "未知")):
            table.add_column(f"{head}\n{o.value}", justify="right", style=OUTCOME_STYLE[o])
        table.add_column("合规率\nrate", justify="right")
        for rule, c in self.by_rule.items():
            if c[Outcome.TRIGGERED] + c[Outcome.EXPIRED] + c[Outcome.NOT_TRIGGERED] or rule in self.candidate_rules:
                continue  # triggers and candidates have their own lists below
            rate = self.compliance_rate(rule)
            table.add_row(", ".join(self.rule_ids[rule]), _clip(self.rule_titles[rule][0], 30),
                          *(str(c[o]) for o in (Outcome.VIOLATED, Outcome.PENDING, Outcome.SATISFIED,
                                                Outcome.NOT_APPLICABLE, Outcome.UNKNOWN)),
                          "—" if rate is None else f"{rate:.0%}")
        return table

    @property
    def _noun(self) -> str:
        return "enterprises" if self.subject == "enterprise" else f"{self.subject} records"

    def _village_table(self) -> Table:
        table = Table(title="各村（社区）情况 By village", title_justify="left")
        table.add_column("村 village")
        table.add_column("企业\nenterprises", justify="right")
        table.add_column("有违反\nwith a violation", justify="right", style="red")
        table.add_column("查处对象\nenforcement", justify="right", style="bold red")
        for village, c in sorted(self.by_village.items()):
            table.add_row(village, str(c["enterprises"]), str(c["with_violation"]), str(c["candidates"]))
        return table

    def _render_candidates(self, console: Console) -> None:
        unknown = sum(self.by_rule[r][Outcome.UNKNOWN] for r in self.candidate_rules if r in self.by_rule)
        undecided = f"；另有 {unknown} 家无法判断 / {unknown} more undecided (facts unknown)" if unknown else ""
        console.print(f"[bold]依法查处对象 Enforcement candidates: {len(self.candidates)}[/bold]{undecided}")
        for e, name, village, rules in sorted(self.candidates, key=lambda c: (c[2], c[0]))[: self.top]:
            violated = "；".join(f"{', '.join(self.rule_ids.get(r, ()))} {self._title(r, 16)}".strip() for r in rules)
            console.print(f"  {e}  {name}  {village}  ← {violated}")
        if len(self.candidates) > self.top:
            console.print(f"  … {len(self.candidates) - self.top} more (--format json lists all)")

    def _render_triggers(self, console: Console) -> None:
        console.print(f"[bold]有效失信记录 Active credit triggers: {len(self.triggers)}[/bold]")
        for e, name, rule, ids, until in sorted(self.triggers, key=lambda t: (t[3], t[0]))[: self.top]:
            console.print(f"  {e}  {name}  {', '.join(ids)} {self._title(rule, 24)}  until {until}")
        if len(self.triggers) > self.top:
            console.print(f"  … {len(self.triggers) - self.top} more (--format json lists all)")

    def _overdue_table(self) -> Table:
        table = Table(title=f"逾期最久的 {self.top} 项 The {self.top} most overdue items", title_justify="left")
        who = "企业 enterprise" if self.subject == "enterprise" else f"对象 {self.subject}"
        heads = (who, "名称 name", *(("村 village",) if self.villages else ()), "条款 id", "义务 obligation",
                 "到期 due", "逾期天数 days")
        for head in heads:
            table.add_column(head, justify="right" if head.endswith("days") else "left")
        for o in self.most_overdue():
            table.add_row(o.enterprise, _clip(o.name, 18), *((o.village,) if self.villages else ()),
                          ", ".join(o.implements), self._title(o.rule, 24), str(o.due_on), str(o.days_overdue))
        return table

    def _title(self, rule: str, n: int) -> str:
        """A rule as a person reads it: its title (Chinese), clipped, as rich markup (the name only when it has no
        title)."""
        title = self.rule_titles.get(rule)
        return escape(_clip(title[0], n) if title else rule)


def _violated_uses(r: RuleResult, result: EnterpriseResult) -> list[str]:
    outcomes = {x.rule: x.outcome for x in result.results}
    return [u for u in r.rules_used if outcomes.get(u) is Outcome.VIOLATED]


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def outcome_label(o: Outcome) -> str:
    return f"{OUTCOME_ZH[o]} {o.value}"


def summary_from_frame(results: Any, info: dict[str, tuple[str, str]], policy: Any, as_of: dt.date,
                       top: int = 10) -> Summary:
    """The same summary from the columnar engine's long result frame (one row per enterprise and rule).

    `info` maps enterprise id → (name, village); `policy` is the `api.Policy` (titles, rule dependencies).
    """
    import polars as pl

    frame: pl.DataFrame = results
    summary = Summary.for_policy(as_of, policy, top)
    summary.enterprises = len(info)
    for r in policy.rules():
        summary.rule_ids[r.name] = r.implements
        summary.rule_titles[r.name] = (r.title.zh, r.title.en)
    counts = frame.group_by("rule", "outcome").len()
    for rule, outcome, n in counts.iter_rows():
        summary.by_rule[str(rule)][Outcome(str(outcome))] += n
    summary.by_rule = defaultdict(Counter, {r: summary.by_rule[r] for r in summary.rule_ids if r in summary.by_rule})
    enforcement = summary.candidate_rules
    violated = frame.filter(pl.col("outcome") == "violated")
    ordinary = violated.filter(~pl.col("rule").cast(pl.String).is_in(list(enforcement)))
    with_violation = set(ordinary.get_column("enterprise").unique().to_list())
    by_enterprise: dict[str, list[str]] = defaultdict(list)
    for ent, rule in ordinary.select("enterprise", pl.col("rule").cast(pl.String)).iter_rows():
        by_enterprise[ent].append(rule)
    candidates = violated.filter(pl.col("rule").cast(pl.String).is_in(list(enforcement)))
    deps = policy.checked.rule_deps
    for ent, rule in candidates.select("enterprise", pl.col("rule").cast(pl.String)).iter_rows():
        name, village = info.get(ent, ("", ""))
        summary.candidates.append((ent, name, village, sorted(set(by_enterprise[ent]) & deps.get(rule, set()))))
    for ent, rule, ids, until in frame.filter(pl.col("outcome") == "triggered").select(
            "enterprise", pl.col("rule").cast(pl.String), "implements", "listed_until").iter_rows():
        summary.triggers.append((ent, info.get(ent, ("", ""))[0], rule, tuple(ids), until))
    # ties broken as `Summary.most_overdue` does: by enterprise id, then rule name as text (the rule column is
    # categorical, whose own order is not the names')
    worst = ordinary.filter(pl.col("days_overdue").is_not_null()).with_columns(_rule_name=pl.col("rule").cast(
        pl.String)).sort(["days_overdue", "enterprise", "_rule_name"], descending=[True, False, False]).head(top)
    for ent, rule, ids, due_on, days in worst.select("enterprise", pl.col("rule").cast(pl.String), "implements",
                                                      "due_on", "days_overdue").iter_rows():
        name, village = info.get(ent, ("", ""))
        summary.overdue.append(Overdue(ent, name, village or "（未知 unknown）", rule, tuple(ids), due_on, days))
    candidate_ids = {c[0] for c in summary.candidates}
    for ent, (_, village) in info.items():
        v = village or "（未知 unknown）"
        summary.by_village[v]["enterprises"] += 1
        summary.by_village[v]["with_violation"] += ent in with_violation
        summary.by_village[v]["candidates"] += ent in candidate_ids
    return summary
