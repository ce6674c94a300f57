"""Every document the code and docs refer to is in the repository.

The design once lived in notes outside the repo (DESIGN, PAPERS, RAY_NOTES and an INTERFACES document); docstrings
pointed at them and a fresh clone could not follow a single reference.  These tests fail on any such name, on a
`docs/….md` path or relative markdown link that does not exist, and on a `docs/papers.md §N` whose section is gone.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("trainer", "sweeps", "analysis", "benchmarks", "tests", "docs")
SUFFIXES = {".py", ".md", ".yaml", ".yml", ".toml", ".ipynb", ".txt"}
# Names of the notes that are not part of the repository, spelled so this file does not match itself.
GONE = re.compile(r"\b(" + "|".join(("DESIGN", "PAPERS", "RAY_" + "NOTES", "INTER" + "FACES", "STY" + "LE")) + r")\b(?!_)")
DOC_PATH = re.compile(r"\bdocs/[\w./-]+?\.md\b")
MD_LINK = re.compile(r"\]\(([^)\s]+)\)")
PAPER_SECTION = re.compile(r"docs/papers\.md\s+§(\d+)")
NAMED_SECTION = re.compile(r'(docs/[\w-]+\.md)\s+"([^"]+)"')


def _files() -> list[Path]:
    files = [p for d in SCANNED for p in (ROOT / d).rglob("*") if p.is_file() and p.suffix in SUFFIXES]
    files += [p for p in ROOT.iterdir() if p.is_file() and p.suffix in SUFFIXES]
    return sorted(p for p in files if ".venv" not in p.parts and "results" not in p.parts and p != Path(__file__))


def _hits(pattern: re.Pattern[str], suffixes: set[str] = SUFFIXES) -> list[tuple[Path, int, re.Match[str]]]:
    out = []
    for path in (f for f in _files() if f.suffix in suffixes):
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            out.extend((path, n, m) for m in pattern.finditer(line))
    return out


def _where(path: Path, n: int) -> str:
    return f"{path.relative_to(ROOT)}:{n}"


def test_no_reference_to_notes_outside_the_repository() -> None:
    bad = [f"{_where(p, n)}: {m.group(0)}" for p, n, m in _hits(GONE)]
    assert bad == [], "references to documents not in the repository (point into docs/ instead):\n" + "\n".join(bad)


def test_docs_paths_exist() -> None:
    bad = [f"{_where(p, n)}: {m.group(0)}" for p, n, m in _hits(DOC_PATH) if not (ROOT / m.group(0)).is_file()]
    assert bad == []


def test_relative_markdown_links_resolve() -> None:
    bad = []
    for p, n, m in _hits(MD_LINK, {".md", ".ipynb"}):
        target = m.group(1).split("#")[0]
        if not target or re.match(r"^[a-z][a-z0-9+.-]*:", target):   # anchors, http:, mailto:, s3: ...
            continue
        if not (p.parent / target).exists() and not (ROOT / target).exists():
            bad.append(f"{_where(p, n)}: {m.group(1)}")
    assert bad == []


def test_cited_paper_sections_exist() -> None:
    sections = set(re.findall(r"^## §(\d+)\.", (ROOT / "docs/papers.md").read_text(), flags=re.M))
    assert sections >= {"1", "2", "3", "4", "5"}
    bad = [f"{_where(p, n)}: §{m.group(1)}" for p, n, m in _hits(PAPER_SECTION) if m.group(1) not in sections]
    assert bad == []


def test_cited_named_sections_exist() -> None:
    headings: dict[str, set[str]] = {}
    bad = []
    for p, n, m in _hits(NAMED_SECTION):
        doc = ROOT / m.group(1)
        if doc.is_file() and m.group(1) not in headings:
            headings[m.group(1)] = {h.strip() for h in re.findall(r"^#+ (.+)$", doc.read_text(), flags=re.M)}
        if m.group(2) not in headings.get(m.group(1), set()):
            bad.append(f"{_where(p, n)}: {m.group(0)}")
    assert bad == []


def test_the_checker_sees_a_stale_reference(tmp_path: Path) -> None:
    """The patterns themselves work: a docstring naming a gone note and a dangling link are both caught."""
    text = '"""See ' + "DES" + 'IGN "Results store" and [x](docs/nowhere.md)."""'
    assert GONE.search(text) and DOC_PATH.search(text) and MD_LINK.search(text)
    assert not GONE.search("DESIGN_COLUMNS = ()")
