"""A GitHub Actions workflow that runs the conformance suite on pull requests (`gym-conform init-ci`).

Two jobs. `static` runs on every pull request, forks included: it installs gym-conform only (never the
pull request's own packages) and runs `gym-conform check`, the static level with the guarantee that no code
of the pull request runs (no conftest.py, ini file, test module or plugin of it; see cli/check.py), and no
secret is exposed (the `pull_request` event gives forks none; the token is read-only). `server` imports and runs the
servers, so it runs only for trusted code: pushes, manual runs, and pull requests from branches of the
repository itself. Both select the changed servers on pull requests (`--gym-changed-since`), split the
run over the runner's CPUs, and upload the JSON, JUnit XML and HTML reports as artifacts.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_OUTPUT = ".github/workflows/gym-conform.yml"
JOBS = ("static", "server")


@dataclass(frozen=True)
class WorkflowOptions:
    """What the generated workflow installs and runs."""

    python: str = "3.12"
    install: str = "gym-conform"  # the pip requirement of the harness (a version pin, a git URL, ...)
    branch: str = "main"  # pushes to it run the server level on every server
    roots: str = "resources_servers"  # what pytest is pointed at
    reports: str = "gym-conform-reports"


def workflow_text(options: WorkflowOptions) -> str:
    """Return the workflow file (YAML with comments)."""
    changed = '          if [ "$EVENT" = pull_request ]; then set -- --gym-changed-since "origin/$BASE_REF"; fi\n'
    env = (
        "        env:\n"
        "          EVENT: ${{ github.event_name }}\n"
        "          BASE_REF: ${{ github.base_ref }}\n"  # passed as data, never spliced into the script
    )
    return f"""\
# The NeMo Gym conformance suite (gym-conform) on pull requests. Written by `gym-conform init-ci`.
#
# static: every pull request, forks included. Installs gym-conform only (never the pull request's packages),
#         loads no conftest.py and no ini options of the pull request, and checks files only: no code of the
#         pull request runs, no secret is available.
# server: trusted code only (pushes to {options.branch}, manual runs, pull requests from this repository's own
#         branches): imports each server and runs its verify() against generated and recorded inputs.
# Pull requests check only the servers they change (--gym-changed-since); pushes check every server.
# Each job uploads its JSON report, JUnit XML and HTML page as the artifact {options.reports}-<job>.
name: gym-conform

on:
  pull_request:
  push:
    branches: [{options.branch}]
  workflow_dispatch:

permissions:
  contents: read

concurrency:
  group: gym-conform-${{{{ github.ref }}}}
  cancel-in-progress: true

jobs:
  static:
    runs-on: ubuntu-latest
    timeout-minutes: 20
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0  # the merge base of --gym-changed-since
          persist-credentials: false
      - uses: actions/setup-python@v5
        with:
          python-version: "{options.python}"
      - name: Install gym-conform (nothing of the pull request)
        run: python -m pip install "{options.install}" pytest-xdist
      - name: Static checks (no code of the pull request runs)
{env}        run: |
          mkdir -p reports
{changed}          gym-conform check -n auto --dist loadscope {options.roots} "$@" \\
            --gym-report reports/static.json --junitxml reports/static.xml --gym-html reports/static.html
      - uses: actions/upload-artifact@v4
        if: always()
        with:
          name: {options.reports}-static
          path: reports/
          if-no-files-found: ignore

  server:
    needs: static
    if: github.event_name != 'pull_request' || github.event.pull_request.head.repo.full_name == github.repository
    runs-on: ubuntu-latest
    timeout-minutes: 60
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0
          persist-credentials: false
      - uses: actions/setup-python@v5
        with:
          python-version: "{options.python}"
      - name: Install gym-conform, the repository and its servers' requirements
        run: |
          python -m pip install "{options.install}" pytest-xdist
          if [ -f pyproject.toml ] || [ -f setup.py ]; then python -m pip install -e .; fi
          for requirements in {options.roots}/*/requirements.txt; do
            if [ -f "$requirements" ]; then python -m pip install -r "$requirements"; fi
          done
      - name: Server checks (imports and runs each server)
{env}        run: |
          mkdir -p reports
{changed}          python -m pytest -p no:cacheprovider -n auto --dist loadscope \\
            {options.roots} --gym-level server "$@" \\
            --gym-report reports/server.json --junitxml reports/server.xml --gym-html reports/server.html
      - uses: actions/upload-artifact@v4
        if: always()
        with:
          name: {options.reports}-server
          path: reports/
          if-no-files-found: ignore
"""
