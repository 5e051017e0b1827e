"""A built wheel, installed outside the repository, runs with its packaged defaults."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        # No NEWSMON_* from the caller: the packaged defaults must be what is read.
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")},
            **(env or {}),
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_wheel_outside_the_repository_finds_rules_feeds_and_template(
    tmp_path: Path, seeds: Path
) -> None:
    # Built from a copy of the sources: setuptools writes build/ beside what it builds.
    source = tmp_path / "source"
    for name in ("pyproject.toml", "README.md"):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for name in ("newsmon", "connectors", "enrich", "flows", "deploy"):
        shutil.copytree(ROOT / name, source / name, symlinks=True, ignore=ignore)
    wheels = tmp_path / "wheels"
    _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         source, "-w", wheels, cwd=tmp_path)  # fmt: skip
    (wheel,) = wheels.glob("newsmon-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {"newsmon/default_config/alerts.yml", "newsmon/default_config/feeds.yml"} <= set(names)
    assert not [n for n in names if "emulator" in n]  # test peers stay out of the package

    # A venv of its own with the wheel unpacked into it; the dependencies come from this
    # interpreter's site-packages as a plain path (its .pth files, the editable install's
    # finder among them, are not read), so only the wheel provides newsmon.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    python = venv / "bin" / "python"
    site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                     cwd=tmp_path).strip())  # fmt: skip
    zipfile.ZipFile(wheel).extractall(site)
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    work = tmp_path / "elsewhere"
    shutil.copytree(seeds, work / "in")
    where = _run(python, "-c", "import newsmon; print(newsmon.__file__)", cwd=work)
    assert where.startswith(str(site))
    env = {"NEWSMON_DB": str(work / "n.db")}
    out = _run(python, "-m", "newsmon", "run", "in", cwd=work, env=env)
    assert "5 read, 5 stored" in out and "rule putin-xi: 5 alerts" in out
    feeds = _run(python, "-m", "newsmon", "feeds", cwd=work, env=env)
    assert "rt-arabic" in feeds
    template = _run(
        python, "-c",
        "from connectors.elasticsearch import DEFAULT_TEMPLATE as t; print(t.is_file(), t)",
        cwd=work,
    )  # fmt: skip
    assert template.startswith("True " + str(site))
