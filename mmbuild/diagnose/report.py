"""Human-readable rendering of a Diagnosis."""

from __future__ import annotations

from mmbuild.diagnose.diagnosis import Diagnosis, Match


def _problem_lines(number: int, match: Match) -> list[str]:
    lines = [f"{number}. {match.id} ({match.severity}): {match.title}",
             f"   line {match.line}: {match.excerpt}",
             f"   cause:  {match.cause}",
             f"   fix:    {match.fix}"]
    if match.remedy:
        lines.append(f"   remedy: {match.remedy}")
    return lines


def render(diagnosis: Diagnosis, source_name: str) -> str:
    """Every problem with its line, excerpt, cause, fix and remedy; or where the first error is."""
    if not diagnosis.problems:
        lines = [f"No known problem recognised in {source_name}."]
        if diagnosis.first_error_line is None:
            lines.append("No line looks like an error.")
        else:
            lines.append(f"The first line that looks like an error is line {diagnosis.first_error_line}:")
            lines.append(f"   {diagnosis.first_error_excerpt}")
        return "\n".join(lines)
    count = len(diagnosis.problems)
    lines = [f"{count} known problem{'s' if count != 1 else ''} in {source_name} (most relevant first):", ""]
    for number, match in enumerate(diagnosis.problems, start=1):
        lines += _problem_lines(number, match) + [""]
    return "\n".join(lines).rstrip()
