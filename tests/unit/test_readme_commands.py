"""The README's two commands stay true: CI runs the test command exactly as written there."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def readme_commands(heading: str = "Two commands for a fresh machine") -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", section, flags=re.S)]


def test_the_readme_starts_with_the_main_job_and_the_test_command():
    install, tests = readme_commands()
    assert "torch==2.13.0" in install and install.endswith("python -m mmbuild install mmdet mmsegmentation")
    assert "torch==2.13.0" in tests and "pytest" in tests


def test_ci_runs_the_readme_test_command_verbatim():
    _, tests = readme_commands()
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert tests in ci_lines


def test_ci_runs_the_other_pythons_command_verbatim():
    (command,) = readme_commands("Other Pythons")
    assert "3.9" in command and "3.13" in command
    assert command in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
