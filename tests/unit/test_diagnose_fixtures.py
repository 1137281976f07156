"""Every catalogue id is recognised in at least two logs; clean logs raise no error.

Logs live in tests/fixtures/logs/<problem id>/ (positive) and tests/fixtures/logs/negative/;
their origins are listed in tests/fixtures/logs/README.md.
"""

from pathlib import Path

import pytest

from mmbuild.diagnose import diagnose_file, load_catalogue

LOGS = Path(__file__).resolve().parent.parent / "fixtures" / "logs"
POSITIVE = sorted(p for p in LOGS.glob("*/*.log") if p.parent.name != "negative")
NEGATIVE = sorted((LOGS / "negative").glob("*.log"))


@pytest.mark.parametrize(
    "problem_id",
    [pid for pid, p in load_catalogue().items() if p.signatures or p.scope not in ("probe", "plan")],
)
def test_every_id_has_two_positive_logs(problem_id):
    assert len(list((LOGS / problem_id).glob("*.log"))) >= 2


@pytest.mark.parametrize("log", POSITIVE, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_positive_log_ranks_its_problem_first(log):
    diagnosis = diagnose_file(log)
    assert diagnosis.ids(), "nothing recognised"
    assert diagnosis.ids()[0] == log.parent.name
    first = diagnosis.problems[0]
    assert first.line >= 1 and first.excerpt and first.cause and first.fix
    assert "{" not in first.cause + first.fix + first.remedy


def test_negative_logs_exist_for_builds_and_training():
    names = [p.name for p in NEGATIVE]
    assert any("build" in n for n in names) and any("train" in n for n in names)


@pytest.mark.parametrize("log", NEGATIVE, ids=lambda p: p.name)
def test_negative_log_has_no_error_level_match(log):
    diagnosis = diagnose_file(log)
    assert not diagnosis.has_errors, [(m.id, m.line, m.excerpt) for m in diagnosis.problems]


def test_every_log_has_its_origin_in_the_readme():
    listed, section = set(), None
    for line in (LOGS / "README.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
        elif section and line.startswith("- `") and ".log`" in line:
            listed.add(f"{section}/{line[3:line.index('.log`') + 4]}")
    on_disk = {f"{p.parent.name}/{p.name}" for p in LOGS.glob("*/*.log")}
    assert on_disk - listed == set(), "logs without an origin line in tests/fixtures/logs/README.md"
    assert listed - on_disk == set(), "origin lines for logs that do not exist"


def test_the_readme_counts_real_and_written_logs_per_id():
    text = (LOGS / "README.md").read_text(encoding="utf-8")
    table = text[text.index("## Real and written logs per id"):].split("\n## ", 1)[0]
    counted = {cells[0]: (int(cells[1]), int(cells[2])) for cells in (
        [c.strip() for c in line.strip("|").split("|")] for line in table.splitlines()
        if line.startswith("| ") and not line.startswith("| id") and "---" not in line)}
    on_disk = {}
    for folder in (p for p in LOGS.iterdir() if p.is_dir()):
        names = [p.name for p in folder.glob("*.log")]
        on_disk[folder.name] = (sum(n.startswith(("captured-", "issue-")) for n in names),
                                sum(n.startswith("sample-") for n in names))
    assert counted == on_disk
