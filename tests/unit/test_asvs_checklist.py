"""The ASVS 5.0 Level 2 checklist (docs/security/asvs.md) is complete, honest and counted right.

`make test` fails while a requirement in scope is unmet and unexplained, while a `met` row
names no test or a test that does not exist, or while the README's counts disagree.
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECKLIST = ROOT / "docs" / "security" / "asvs.md"
README = ROOT / "README.md"
STATUSES = ("met", "not applicable", "unmet")
SUMMARY = re.compile(
    r"ASVS 5\.0 Level 2: (\d+) of (\d+) in-scope requirements met, "
    r"(\d+) not applicable, (\d+) unmet with explanation"
)
NODE_ID = re.compile(r"tests/[\w/]+\.py::\w+(?:::\w+)?(?:\[[^\]`]*\])?")

# The Level 1 and 2 requirements of ASVS 5.0.0 in the chapters in scope, from OWASP/ASVS
# 5.0/docs_en/OWASP_Application_Security_Verification_Standard_5.0.0_en.csv: for each
# section, the level of requirements 1, 2, 3... in order (Level 3 ones all come last).
IN_SCOPE = {
    "V1.1": "22",
    "V1.2": "111112222",
    "V1.3": "11222222222",
    "V1.4": "222",
    "V1.5": "12",
    "V2.1": "122",
    "V2.2": "112",
    "V2.3": "1222",
    "V2.4": "2",
    "V3.2": "11",
    "V3.3": "1222",
    "V3.4": "112222",
    "V3.5": "11122",
    "V3.7": "22",
    "V4.1": "122",
    "V4.2": "2",
    "V4.3": "22",
    "V4.4": "1222",
    "V6.1": "122",
    "V6.2": "111111112222",
    "V6.3": "1122",
    "V6.4": "1122",
    "V6.5": "22222",
    "V6.6": "222",
    "V6.8": "2222",
    "V7.1": "222",
    "V7.2": "1111",
    "V7.3": "22",
    "V7.4": "11222",
    "V7.5": "22",
    "V7.6": "22",
    "V8.1": "12",
    "V8.2": "112",
    "V8.3": "1",
    "V8.4": "2",
    "V11.1": "22",
    "V11.2": "222",
    "V11.3": "112",
    "V11.4": "1222",
    "V11.5": "2",
    "V11.6": "2",
    "V13.1": "2",
    "V13.2": "22222",
    "V13.3": "22",
    "V13.4": "12222",
    "V14.1": "22",
    "V14.2": "1222",
    "V14.3": "122",
    "V16.1": "2",
    "V16.2": "22222",
    "V16.3": "2222",
    "V16.4": "222",
    "V16.5": "222",
}


@dataclass(frozen=True)
class Row:
    id: str
    level: str
    requirement: str
    status: str
    explanation: str
    evidence: str

    @property
    def tests(self) -> list[str]:
        return re.findall(r"`([^`]+)`", self.evidence)


def _rows() -> list[Row]:
    rows = []
    for line in CHECKLIST.read_text(encoding="utf-8").splitlines():
        if not re.match(r"\| V\d", line):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        assert len(cells) == 6, f"a row needs six cells: {line[:60]}"
        rows.append(Row(*cells))
    return rows


def _expected() -> dict[str, str]:
    return {
        f"{section}.{n}": level
        for section, levels in IN_SCOPE.items()
        for n, level in enumerate(levels, start=1)
    }


def _counts(rows: list[Row]) -> tuple[int, int, int, int]:
    met = sum(row.status == "met" for row in rows)
    not_applicable = sum(row.status == "not applicable" for row in rows)
    unmet = sum(row.status == "unmet" for row in rows)
    return met, len(rows), not_applicable, unmet


@functools.cache
def _defined_tests(path: Path) -> frozenset[str]:
    """Test functions and Class::method names a test file defines."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    names.add(f"{node.name}::{item.name}")
    return frozenset(name for name in names if name.split("::")[-1].startswith("test"))


def _missing_test(node_id: str) -> str | None:
    """Why a node id names no test, or None when it does."""
    if not NODE_ID.fullmatch(node_id):
        return "is not a pytest node id (tests/...py::test_name)"
    file, _, name = re.sub(r"\[.*\]$", "", node_id).partition("::")
    path = ROOT / file
    if not path.is_file():
        return "names a file that does not exist"
    if name not in _defined_tests(path):
        return f"names no test defined in {file}"
    return None


def test_the_table_holds_exactly_the_requirements_in_scope_at_their_levels() -> None:
    rows = _rows()
    ids = [row.id for row in rows]
    assert len(ids) == len(set(ids)), "a requirement appears twice"
    expected = _expected()
    missing = sorted(set(expected) - set(ids))
    invented = sorted(set(ids) - set(expected))
    assert not missing, f"requirements in scope without a row: {missing}"
    assert not invented, f"rows for requirements not in scope (or not in ASVS 5.0): {invented}"
    wrong = [row.id for row in rows if row.level != expected[row.id]]
    assert not wrong, f"rows with the wrong level: {wrong}"


def test_every_row_has_a_known_status() -> None:
    unknown = [(row.id, row.status) for row in _rows() if row.status not in STATUSES]
    assert not unknown, f"status must be one of {STATUSES}: {unknown}"


def test_every_row_paraphrases_its_requirement() -> None:
    short = [row.id for row in _rows() if len(row.requirement.split()) < 4]
    assert not short, f"say what the requirement asks: {short}"


def test_every_met_row_names_tests_that_exist() -> None:
    problems = []
    for row in _rows():
        if row.status == "met" and not row.tests:
            problems.append(f"{row.id} is met but names no test")
        if row.evidence != "—" and not row.tests:
            problems.append(f"{row.id}: evidence is test ids in backticks, or —")
        leftover = re.sub(r"`[^`]+`", "", row.evidence).replace("—", "").strip()
        if leftover:
            problems.append(f"{row.id}: evidence holds text outside test ids: {leftover!r}")
        for node_id in row.tests:
            why = _missing_test(node_id)
            if why:
                problems.append(f"{row.id}: {node_id} {why}")
    assert not problems, "\n".join(problems)


def test_every_unmet_or_not_applicable_row_explains_itself() -> None:
    problems = []
    for row in _rows():
        words = len(row.explanation.split())
        if row.status == "unmet" and words < 6:
            problems.append(f"{row.id} is unmet: say what is missing and the plan")
        if row.status == "not applicable" and words < 2:
            problems.append(f"{row.id} is not applicable: say why")
        if row.status == "met" and words < 1:
            problems.append(f"{row.id} is met: say how")
    assert not problems, "\n".join(problems)


def test_the_counts_in_the_checklist_and_the_readme_agree_with_the_table() -> None:
    counts = _counts(_rows())
    stated = SUMMARY.search(CHECKLIST.read_text(encoding="utf-8"))
    assert stated, "the checklist states its counts in the summary line"
    assert tuple(int(g) for g in stated.groups()) == counts, f"the table counts {counts}"
    readme = README.read_text(encoding="utf-8")
    match = re.search(r"^## Security\n(.*?)(?=^## |\Z)", readme, flags=re.MULTILINE | re.DOTALL)
    assert match, "the README has a `## Security` section"
    in_readme = SUMMARY.search(match.group(1))
    assert in_readme, "the README's security section states the checklist's counts"
    assert tuple(int(g) for g in in_readme.groups()) == counts, f"the table counts {counts}"


def test_each_chapter_states_how_many_of_its_rows_are_met() -> None:
    text = CHECKLIST.read_text(encoding="utf-8")
    rows = _rows()
    for heading, stated_met, stated_total in re.findall(
        r"^## (V\d+) .*\n\n(\d+) of (\d+) met\.$", text, flags=re.MULTILINE
    ):
        mine = [row for row in rows if row.id.split(".")[0] == heading]
        assert (int(stated_met), int(stated_total)) == (
            sum(row.status == "met" for row in mine),
            len(mine),
        ), heading
    chapters = {row.id.split(".")[0] for row in rows}
    assert len(re.findall(r"^\d+ of \d+ met\.$", text, flags=re.MULTILINE)) == len(chapters)


def test_the_checker_catches_a_missing_or_misnamed_test() -> None:
    here = "tests/unit/test_asvs_checklist.py"
    assert _missing_test(f"{here}::test_every_row_has_a_known_status") is None
    assert _missing_test(f"{here}::test_every_row_has_a_known_status[sqlite]") is None
    assert _missing_test(f"{here}::test_no_such_thing") is not None
    assert _missing_test(f"{here}::_rows") is not None
    assert _missing_test("tests/unit/no_such_file.py::test_x") is not None
    assert _missing_test("test_every_row_has_a_known_status") is not None
