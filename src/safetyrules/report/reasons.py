"""Why a what-if changed an outcome, in words: the reasons `whatif.run` records (in English, with param
names, as `whatif.json` keeps them for systems) as a regulator reads them, in Chinese or English, each param
by its label (`参数调整：其他行业风险辨识评估周期 = 2 years`)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from safetyrules.engine.results import Text

# `params a=1 year, b=[x, y]`: a param's assignment starts after ", " with `name=` (a value's own ", " is not
# followed by a name and "=")
_NEXT_PARAM = re.compile(r", (?=[a-z_][a-z0-9_]*=)")


def because_text(because: str, labels: Mapping[str, Text], lang: str) -> str:
    """A change's reasons (`Change.because`) in one language; `labels`: the params' names as people read them
    (a param without one keeps its name)."""
    zh = lang == "zh"
    out = []
    for reason in because.split("; "):
        if reason.endswith(" switched off"):
            out.append("该义务在情景中停用" if zh else "switched off in the scenario")
        elif reason.endswith(" added"):
            out.append("情景新增的规则" if zh else "added in the scenario")
        elif reason.startswith("params "):
            parts = []
            for assignment in _NEXT_PARAM.split(reason[len("params "):]):
                name, _, value = assignment.partition("=")
                label = labels.get(name)
                shown = (label.zh if zh else label.en) if label is not None else name
                parts.append(f"{shown} = {value}")
            out.append(("参数调整：" if zh else "changed params: ") + ("；" if zh else "; ").join(parts))
        elif reason == "facts patched":
            out.append("事实已修改" if zh else "facts changed")
        elif reason == "depends on a changed rule":
            out.append("取决于结果改变的其他义务" if zh else "depends on another obligation whose outcome changed")
        else:
            out.append(reason)
    return ("；" if zh else "; ").join(out)
