"""The README's layout section and docs/extending.md match the tree: every module and package of
the package is in the layout, and every file either document names exists."""

from __future__ import annotations

import re

import pytest
from conftest import ROOT

PACKAGE = ROOT / "src" / "separations"
#: where a file named without its folder is looked for
FOLDERS = [
    ROOT,
    PACKAGE,
    ROOT / "src",
    PACKAGE / "figures",
    PACKAGE / "schemas",
    ROOT / "workflow" / "rules",
    ROOT / "tests",
    ROOT / "benchmarks",
]


def layout_section() -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(r"^## Layout\n(.*?)^## ", text, flags=re.S | re.M)
    assert match, "README.md has no Layout section"
    return match.group(1)


def test_the_readme_layout_names_every_module_and_package():
    layout = layout_section()
    names = [p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py"]
    names += [f"{p.name}/" for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"]
    missing = [
        name for name in sorted(names) if not re.search(rf"(?<![\w/]){re.escape(name)}", layout)
    ]
    assert not missing, f"README.md's layout section lacks {missing}"


@pytest.mark.parametrize("doc", ["README.md", "docs/extending.md"])
def test_every_file_a_document_names_exists(doc):
    text = layout_section() if doc == "README.md" else (ROOT / doc).read_text()
    named = set(re.findall(r"([\w./-]+\.(?:py|smk|json|yaml|md))\b", text))
    missing = [
        name for name in sorted(named) if not any((folder / name).exists() for folder in FOLDERS)
    ]
    assert not missing, f"{doc} names files the tree does not have: {missing}"
