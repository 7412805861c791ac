"""gym-conform installs beside nemo-gym 0.7.0 without overwriting any of its files or commands.

The wheels are built from this checkout. NeMo Gym's side comes from `nemo_gym_070_installs.json` (its top-level
entries and console scripts), or from the real wheel when GYM_CONFORM_NEMO_GYM_WHEEL names it (CI sets it).
"""

from __future__ import annotations

import configparser
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

HERE = Path(__file__).parent
# The names both gym-conform-ng-commands and nemo-gym install (README.md, "Command names").
SHARED_NG_NAMES = {"ng_prepare_data", "ng_download_dataset_from_hf", "ng_init_resources_server"}


def build_wheel(source: Path, out: Path) -> Path:
    """Build the wheel of the project at `source` into `out` (no network: the environment's setuptools)."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("*.whl")
    return wheel


def console_scripts(wheel: zipfile.ZipFile) -> set[str]:
    """Return the console scripts a wheel's entry_points.txt declares."""
    names = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    if not names:
        return set()
    parser = configparser.ConfigParser()
    parser.read_string(wheel.read(names[0]).decode())
    return set(parser["console_scripts"]) if parser.has_section("console_scripts") else set()


def installed_paths(wheel_path: Path) -> set[str]:
    """Return what installing a wheel writes, as `site-packages/<file>` and `bin/<script>` paths."""
    with zipfile.ZipFile(wheel_path) as wheel:
        files = {f"site-packages/{name}" for name in wheel.namelist() if not name.endswith("/")}
        return files | {f"bin/{script}" for script in console_scripts(wheel)}


def top_level(paths: set[str]) -> set[str]:
    """Return the site-packages entries (first path part) and bin/ scripts of a set of installed paths."""
    return {"/".join(p.split("/")[:2]) for p in paths}


def nemo_gym_paths() -> set[str]:
    """NeMo Gym 0.7.0's installed paths: every file from the real wheel, else its top-level entries and scripts."""
    wheel = os.environ.get("GYM_CONFORM_NEMO_GYM_WHEEL")
    if wheel:
        return installed_paths(Path(wheel))
    facts = json.loads((HERE / "nemo_gym_070_installs.json").read_text())
    return {f"site-packages/{name}" for name in facts["top_level"]} | {f"bin/{s}" for s in facts["console_scripts"]}


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    out = tmp_path_factory.mktemp("wheels")
    return {
        "gym-conform": installed_paths(build_wheel(REPO_ROOT, out / "main")),
        "ng-commands": installed_paths(build_wheel(REPO_ROOT / "ng-commands", out / "ng")),
    }


def test_gym_conform_installs_one_import_package_and_one_command(wheels):
    entries = top_level(wheels["gym-conform"])
    packages = {e for e in entries if e.startswith("site-packages/") and ".dist-info" not in e}
    assert packages == {"site-packages/gym_conform"}
    assert {e for e in entries if e.startswith("bin/")} == {"bin/gym-conform"}
    assert not any("/resources_servers/" in p or "/responses_api_models/" in p for p in wheels["gym-conform"])


def test_gym_conform_and_nemo_gym_write_no_common_file_in_either_order(wheels):
    theirs = nemo_gym_paths()
    ours = wheels["gym-conform"]
    if not os.environ.get("GYM_CONFORM_NEMO_GYM_WHEEL"):
        ours = top_level(ours)
    assert ours.isdisjoint(theirs), sorted(ours & theirs)


def test_ng_commands_adds_only_the_ng_aliases_and_shares_exactly_the_documented_ones(wheels):
    entries = top_level(wheels["ng-commands"])
    assert all(".dist-info" in e for e in entries if e.startswith("site-packages/"))
    scripts = {e.removeprefix("bin/") for e in entries if e.startswith("bin/")}
    assert scripts == SHARED_NG_NAMES | {"ng_replay_rollouts"}
    shared = {p.removeprefix("bin/") for p in nemo_gym_paths() if p.startswith("bin/")} & scripts
    assert shared == SHARED_NG_NAMES
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert all(f"`{name}`" in readme for name in SHARED_NG_NAMES)
