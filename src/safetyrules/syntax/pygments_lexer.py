"""A Pygments lexer for policy files, so that documentation (Sphinx, MkDocs, `pygmentize`) highlights them.

Registered as the `pygments.lexers` entry point `safetyrules` (aliases `safetyrules`, `policy`; files
`*.policy`): `pygmentize -l safetyrules policies/annex4/30-risk.policy`. Pygments comes with rich, so it is
always installed; nothing imports this module but Pygments itself. Its rules follow the TextMate grammar of
editors/safetyrules.tmLanguage.json, in the same order.
"""

from __future__ import annotations

from typing import ClassVar

from pygments.lexer import RegexLexer, bygroups, words  # type: ignore[import-untyped]
from pygments.token import (  # type: ignore[import-untyped]
    Comment,
    Error,
    Keyword,
    Literal,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Whitespace,
)

_ID = r"[A-Za-z_][A-Za-z0-9_]*"
_DECLARATIONS = ("policy", "param", "define", "obligation", "candidate", "trigger", "enum", "record", "subject")
_ITEMS = ("implements", "title", "source", "quote", "severity", "effective", "applies", "unless", "when", "require",
          "effect", "each", "listing", "remedy", "document", "period", "catalogue", "default", "from", "label",
          "code", "key", "timezone", "dated", "field", "kept", "zh", "en")
_DUE = ("due", "continuous", "by", "done", "every", "last", "first", "within", "after", "on", "grace", "late", "for",
        "met")  # `met`: deprecated, still read
_CONTROL = ("if", "then", "else")
_LOGIC = ("and", "or", "not", "implies")
_WORDS = ("in", "is", "at", "where")
_CONSTANTS = ("true", "false", "null", "known", "unknown")
_QUANTIFIERS = ("any", "all", "count", "sum", "max", "min", "find", "latest", "earliest")
_FUNCTIONS = ("date", "year", "days_between", "coalesce", "greatest", "least", "violated", "triggered")
_TYPES = ("number", "bool", "date", "instant", "duration", "string", "text", "int", "decimal", "datetime", "set",
          "list")


class SafetyRulesLexer(RegexLexer):  # type: ignore[misc]
    """The safetyrules policy language (grammar/safetyrules.lark)."""

    name = "safetyrules"
    aliases: ClassVar[list[str]] = ["safetyrules", "policy"]
    filenames: ClassVar[list[str]] = ["*.policy"]
    mimetypes: ClassVar[list[str]] = ["text/x-safetyrules"]
    url = "https://github.com/safetyrules/safetyrules"

    tokens: ClassVar[dict[str, list[object]]] = {
        "root": [
            (r"\s+", Whitespace),
            (r"///.*?$", Comment.Special),
            (r"#.*?$", Comment.Single),
            (r'"(?:[^"\\\n]|\\["\\nt])*"', String.Double),
            (r'"[^\n]*', Error),  # a string that is not closed
            (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:\d{2})", Literal.Date),
            (r"\d{4}-\d{2}-\d{2}\b", Literal.Date),
            (r"(\d+)(\s+)(years?|months?|weeks?|days?|hours?|minutes?)\b",
             bygroups(Number.Integer, Whitespace, Keyword.Pseudo)),
            (r"\d+\b", Number.Integer),
            (r"(?<=\.)" + _ID, Name.Attribute),
            (r"\b(" + "|".join(_DECLARATIONS) + r")(\s+)(" + _ID + ")", bygroups(Keyword.Declaration, Whitespace,
                                                                              Name.Class)),
            (r"\b(field|code)(\s+)(" + _ID + ")", bygroups(Keyword, Whitespace, Name.Attribute)),
            (words(_DECLARATIONS, prefix=r"\b", suffix=r"\b"), Keyword.Declaration),
            (words(_DUE + _CONTROL + _ITEMS, prefix=r"\b", suffix=r"\b"), Keyword),
            (words(_LOGIC + _WORDS, prefix=r"\b", suffix=r"\b"), Operator.Word),
            (words(_CONSTANTS, prefix=r"\b", suffix=r"\b"), Keyword.Constant),
            (r"\bas_of\b", Name.Builtin.Pseudo),
            (words(_QUANTIFIERS + _FUNCTIONS, prefix=r"\b", suffix=r"(?=\s*\()"), Name.Builtin),
            (words(_TYPES, prefix=r"\b", suffix=r"\b"), Keyword.Type),
            (r"\b(?:high|medium|low)\b", Keyword.Pseudo),
            (r"==|!=|<=|>=|<|>|\.\.|[-+*=]", Operator),
            (r"[.{}(),:]", Punctuation),
            (_ID, Name),
            (r".", Error),
        ],
    }
