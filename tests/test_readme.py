"""The README is true of the repository: its API map names every resource group the app serves, and every file of the
repository it points at exists."""

import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _section(title: str) -> str:
    start = README.index(f"## {title}")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def test_the_api_map_names_every_resource_group(app: Any) -> None:
    api_map = _section("The API in one screen")
    paths = app.openapi()["paths"]
    groups = {p.split("/")[3] for p in paths if p.startswith("/api/v1/")}
    missing = sorted(g for g in groups if not re.search(rf"[`/]{re.escape(g)}[`/\s)]", api_map))
    assert not missing, f"the README's API map does not name: {missing}"
    outside = sorted(p for p in paths if not p.startswith("/api/v1/") and p.split("{")[0].rstrip("/") not in api_map)
    assert not outside, f"the README's API map does not name: {outside}"


def test_every_file_the_readme_points_at_exists() -> None:
    named = set(re.findall(r"(?<![\w./-])((?:app|docs|tests|bench|migrations|openapi|\.ci)/[\w./-]*\w)", README))
    named |= set(re.findall(r"`([\w-]+\.(?:md|toml|yaml|yml|json|txt|ini|cfg))`", README))
    missing = sorted(n for n in named if not (ROOT / n).exists() and not any((ROOT / n).parent.glob(Path(n).name)))
    assert not missing, f"the README names files the repository does not hold: {missing}"
