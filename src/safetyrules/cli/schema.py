"""`safetyrules schema`: the JSON Schema of the enterprise fact contract."""

from __future__ import annotations

import json

import click

from safetyrules.facts.models import enterprise_json_schema


@click.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of one enterprise record (the fact contract)."""
    click.echo(json.dumps(enterprise_json_schema(), ensure_ascii=False, indent=2))
