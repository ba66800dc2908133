"""What ships: the wheel, built from the files the image builds it from and installed into a new virtual environment
outside the checkout, migrates a new database, serves the demo and renders its plan's HTML and PDF packs.

The tests use an editable install, which reads templates and migrations from the checkout; only this test sees a
file the wheel leaves out. It runs with `--wheel` (`make check`, beside the linters); pip's cache makes the
dependencies' install quick.
"""

import html
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pypdf import PdfReader

from tests.servers import free_port

pytestmark = pytest.mark.wheel
ROOT = Path(__file__).resolve().parents[1]


def build_sources() -> list[str]:
    """What the Dockerfile's build stage copies before it installs the package (`COPY a b ./` lines)."""
    build_stage = (ROOT / "Dockerfile").read_text(encoding="utf-8").split("\nFROM ")[1]
    sources = [name for line in build_stage.splitlines() if line.startswith("COPY ") for name in line.split()[1:-1]]
    assert "pyproject.toml" in sources and "app" in sources, sources
    return sources


def run(*args: str | Path, cwd: Path, env: dict[str, str], timeout: float = 300) -> str:
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert result.returncode == 0, f"{' '.join(map(str, args))} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """The wheel built from a copy of the build stage's files (no stale build/ folder, no checkout on the path) and
    installed into a new venv with the pinned dependencies; the folder to run it in and the environment to run it with."""
    tmp = tmp_path_factory.mktemp("wheel")
    source, dist, venv, work = tmp / "source", tmp / "dist", tmp / "venv", tmp / "work"
    source.mkdir()
    work.mkdir()
    for name in build_sources():
        origin = ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(origin, source / name)
    # Nothing of the checkout or of the development venv may leak into the installed copy's runs.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WSOA_", "PYTHON", "VIRTUAL_ENV"))}
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", dist, source, cwd=tmp, env=env)
    (wheel,) = dist.glob("wsoa_tracker-*.whl")
    # Every file of the package and of the migrations is in the wheel (the migrations as `app/migrations`): a file the
    # service reads at run time cannot be left out by a packaging rule, whether or not a test below reads it.
    shipped = set(zipfile.ZipFile(wheel).namelist())
    wanted = {p.relative_to(source).as_posix() for p in (source / "app").rglob("*") if p.is_file()}
    wanted |= {"app/" + p.relative_to(source).as_posix() for p in (source / "migrations").rglob("*") if p.is_file()}
    assert not wanted - shipped, f"the wheel leaves out {sorted(wanted - shipped)}"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp, env=env)
    pip_install = [sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install", "--quiet", "--no-compile"]
    run(*pip_install, "--constraint", ROOT / "constraints.txt", wheel, cwd=tmp, env=env, timeout=600)
    env |= {
        "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        "WSOA_DATABASE_URL": f"sqlite:///{work / 'wsoa.db'}",
        "WSOA_STORAGE_DIR": str(work / "evidence-store"),
        "WSOA_LOG_LEVEL": "WARNING",
    }
    yield work, env


@pytest.fixture(scope="module")
def served(installed: tuple[Path, dict[str, str]]) -> Iterator[tuple[str, dict[str, str]]]:
    """The installed `wsoa serve` on a free port, with the demo loaded and an admin key; stopped at the end."""
    work, env = installed
    where = run("python", "-c", "import app; print(app.__file__)", cwd=work, env=env).strip()
    assert where.startswith(str(work.parent / "venv")), f"the package was imported from {where}, not the new venv"
    run("wsoa", "migrate", cwd=work, env=env)
    run("wsoa", "seed-demo", cwd=work, env=env)
    token = run("wsoa", "keys", "create", "--role", "admin", "--name", "wheel test", cwd=work, env=env).strip()
    port = free_port()
    log = work / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(["wsoa", "serve", "--port", str(port)], cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise AssertionError("the installed service did not start:\n" + log.read_text())
        yield url, {"Authorization": f"Bearer {token}"}
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_the_installed_service_migrates_serves_and_renders_packs(
    installed: tuple[Path, dict[str, str]], served: tuple[str, dict[str, str]]
) -> None:
    work, env = installed
    url, auth = served
    assert httpx.get(f"{url}/readyz", timeout=10).status_code == 200  # the schema is at the installed migrations' head
    for asset in ("/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css", "/docs/assets/redoc.standalone.js"):
        assert httpx.get(f"{url}{asset}", timeout=10).status_code == 200, asset  # the documentation works offline
    plans = httpx.get(f"{url}/api/v1/plans", headers=auth, timeout=10).json()["items"]
    assert plans, "the demo loaded no plan"
    plan = plans[0]

    run("wsoa", "export", "--plan-id", plan["id"], "--format", "html", "--output", work / "pack.html", cwd=work, env=env)
    page = (work / "pack.html").read_text(encoding="utf-8")
    title = re.search(r"<title>(.*?)</title>", page, re.S)
    assert title and html.unescape(title.group(1)).startswith(f"{plan['title']}: progress as of "), title
    assert "<h2" in page and "action" in page.lower()

    run("wsoa", "export", "--plan-id", plan["id"], "--format", "pdf", "--output", work / "pack.pdf", cwd=work, env=env)
    reader = PdfReader(io.BytesIO((work / "pack.pdf").read_bytes()))
    assert len(reader.pages) >= 2
    first = " ".join((reader.pages[0].extract_text() or "").split())
    assert plan["title"] in first, first[:300]
