"""`safetyrules replay`: decide a stored decision again and confirm the same outcomes (docs/service.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from safetyrules.cli.common import Exit, err, fail, run_limits


@click.command("replay")
@click.argument("record_id", type=click.IntRange(1))
@click.option("--db", "db_url", required=True, help="The decision records: sqlite:///FILE or postgresql://….")
@click.option("--policy", "policy_path", type=click.Path(path_type=Path), default=None,
              help="The policy to replay with: a folder, a .policy file or a bundle. Default: the bundled 附件4 "
                   "policy. A policy whose digest is not the decision's is used, with a warning.")
def replay_command(record_id: int, db_url: str, policy_path: Path | None) -> None:
    """Re-evaluate decision RECORD_ID's stored facts with its stored params and date, and compare the outcomes
    with the stored ones: exit 0 when identical, 1 when any differs (each difference listed)."""
    from safetyrules.api import FactError
    from safetyrules.diagnostics import PolicyError
    from safetyrules.errors import InputError
    from safetyrules.service.bundle import BundleError, open_policy
    from safetyrules.service.records import RecordsError, open_records, outcomes_of

    try:
        records = open_records(db_url, create=False)
    except RecordsError as e:
        fail(f"--db {e}", Exit.USAGE)
        return
    try:
        decision = records.get(record_id)
    except RecordsError as e:  # a row whose stored JSON does not parse: altered
        fail(f"{e}; run `safetyrules audit --verify`", Exit.FINDINGS)
        return
    if decision is None:
        fail(f"no decision {record_id} in {db_url} / 没有编号为 {record_id} 的决定记录", Exit.BAD_INPUT)
        return
    if not decision.intact():
        fail(f"decision {record_id} does not match its hash: it was altered; run `safetyrules audit --verify` / "
             f"决定记录 {record_id} 已被改动", Exit.FINDINGS)
    try:
        opened = open_policy(policy_path, run_limits())
    except PolicyError as e:
        err.print(str(e), markup=False)
        fail("the policy has errors", Exit.POLICY_ERROR)
        return
    except BundleError as e:
        fail(str(e), Exit.BAD_INPUT)
        return
    if opened.digest != decision.policy.digest:
        err.print(f"[yellow]warning[/yellow] decision {record_id} was made by {decision.policy.name} "
                  f"{decision.policy.version} ({decision.policy.digest}); replaying with {opened.name} "
                  f"{opened.version} ({opened.digest}): differences may be the policy's / 策略版本不同")
    try:
        result = opened.policy.evaluate(decision.facts, decision.as_of, params=decision.params, explain=False)
    except FactError as e:
        fail(f"decision {record_id}: the stored facts no longer pass the fact contract: {e}", Exit.BAD_INPUT)
        return
    except InputError as e:
        fail(f"decision {record_id}: {e}", Exit.BAD_INPUT)
        return
    differences = _differences(decision.outcomes, outcomes_of(result))
    who = f"decision {record_id} ({decision.subject}, as of {decision.as_of})"
    if not differences:
        click.echo(f"{who}: identical outcomes, {len(decision.outcomes)} rules / 复现结果一致")
        return
    for line in differences:
        click.echo(line)
    click.echo(f"{who}: {len(differences)} difference(s) / 复现结果不一致", err=True)
    sys.exit(int(Exit.FINDINGS))


def _differences(stored: list[dict[str, Any]], now: list[dict[str, Any]]) -> list[str]:
    before = {str(o.get("rule")): o for o in stored}
    after = {str(o.get("rule")): o for o in now}
    lines = []
    for rule in [*before, *(r for r in after if r not in before)]:
        a, b = before.get(rule), after.get(rule)
        if a == b:
            continue
        if a is None or b is None:
            lines.append(f"{rule}: {'not in the stored decision' if a is None else 'no longer evaluated'}")
            continue
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                shown = [json.dumps(x.get(key), ensure_ascii=False) for x in (a, b)]
                lines.append(f"{rule}: {key}: stored {shown[0]}, now {shown[1]}")
    return lines
