"""YAML for the project's own files (policy tests, scenarios): timestamps stay text.

Dates and instants then reach pydantic and `date.fromisoformat` as ISO text, so instants keep their offsets.
"""

from __future__ import annotations

from typing import Any

import yaml


class TextTimestampLoader(yaml.SafeLoader):
    """A SafeLoader without the implicit timestamp type."""


TextTimestampLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=TextTimestampLoader)
