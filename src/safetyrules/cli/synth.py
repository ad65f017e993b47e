"""`safetyrules synth`: a realistic example town in the fact contract (seeded, reproducible)."""

from __future__ import annotations

from pathlib import Path

import click

from safetyrules.cli.common import check_output, err


@click.command("synth")
@click.option("--count", default=300, show_default=True, help="How many enterprises.")
@click.option("--seed", default=2020, show_default=True, help="Random seed: the same seed gives the same town.")
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path), help="The JSON Lines file to write.")
@click.option("--events", is_flag=True, help="Write a year (2022) of events for the town instead of enterprise "
              "records: the input of `safetyrules monitor`.")
def synth_command(count: int, seed: int, out_path: Path, events: bool) -> None:
    """Generate enterprises of a town of Yongchun County with histories from 2019 to 2022 (or, with --events,
    a stream of events)."""
    if count < 0:
        raise click.BadParameter("must be 0 or more", param_hint="--count")
    check_output(out_path)
    if events:
        import json

        from safetyrules.synth import generate_events

        n = 0
        with out_path.open("w", encoding="utf-8") as f:
            for event in generate_events(count, seed):
                f.write(json.dumps(event, ensure_ascii=False, default=str) + "\n")
                n += 1
        err.print(f"wrote {n} events for {count} enterprises to {out_path} (seed {seed})", markup=False)
        return
    from safetyrules.synth import write_town

    written = write_town(out_path, count, seed)
    err.print(f"wrote {written} enterprises to {out_path} (seed {seed})", markup=False)
