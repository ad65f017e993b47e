"""The console's vocabulary: obligation titles for rule names, the facts' labels for field paths, code labels
for enumeration codes (`safetyrules.report.vocabulary`, shared with the CLI's explanations and the reports)."""

from safetyrules.report.vocabulary import OUTCOME_EN, SEVERITY, Vocabulary, outcome_text, pick

__all__ = ["OUTCOME_EN", "SEVERITY", "Vocabulary", "outcome_text", "pick"]
