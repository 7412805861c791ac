#!/usr/bin/env bash
# Real-corpus check: gym-conform's static level over NeMo Gym 0.7.0's own tree (145 resources servers, 51
# environment configs), compared with .ci/nemo_gym_070_expected.json (every remaining failure with its reason).
# Any difference, an internal error or a crashed collection fails. Called by .ci/run after the main install;
# runs on a fresh machine too (pypi reachable). Usage: .ci/corpus.sh [--update]   (--update rewrites the file)
# Work dir: $GYM_CONFORM_CORPUS_DIR (default /tmp/gym-conform-corpus): the wheel, a CPython 3.13 venv, the tree.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
work=${GYM_CONFORM_CORPUS_DIR:-/tmp/gym-conform-corpus}
expected="$here/.ci/nemo_gym_070_expected.json"
wheel_name=nemo_gym-0.7.0-py3-none-any.whl
mkdir -p "$work"
started=$(date +%s)

source "$here/.ci/corpus_lib.sh"
python313=$(find_python313)
if [ -z "$python313" ]; then
  echo "########################################################################################" >&2
  echo "# corpus: SKIPPED: no CPython 3.13 (/root/.pyenv/versions/3.13.0/bin/python or python3.13)" >&2
  echo "# NeMo Gym 0.7.0 needs Python 3.13; the real-corpus check did NOT run on this machine.  " >&2
  echo "########################################################################################" >&2
  exit 0
fi

# The wheel carries the whole upstream tree; it is downloaded once per work dir.
if [ ! -f "$work/$wheel_name" ]; then
  "$here/.venv/bin/python" -m pip download -q --no-deps --python-version 3.13.14 --only-binary=:all: \
    -d "$work" nemo-gym==0.7.0
fi
export GYM_CONFORM_NEMO_GYM_WHEEL="$work/$wheel_name"

# A CPython 3.13 venv with both distributions (nemo-gym without its heavy runtime dependencies: the static
# level runs none of its code). pip's notes that nemo-gym's runtime dependencies are missing are expected:
# they go to the log.
install_wheel_alone() { "$1/bin/pip" install -q --no-deps --ignore-requires-python "$work/$wheel_name"; }
venv="$work/venv313"
ensure_venv "$venv" "$work/pip.log" install_wheel_alone

# A fresh copy of the tree for every run: nothing of the wheel is ever modified.
rm -rf "$work/tree"
mkdir -p "$work/tree"
"$venv/bin/python" -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])" \
  "$work/$wheel_name" "$work/tree"

# --assert=plain: gym-conform's checks use no assert, and rewriting other plugins' modules (hydra, anyio,
# hypothesis) costs seconds on every run of a venv whose files cannot get a rewrite cache.
status=0
rm -f "$work/report.json"  # a report left by an earlier run must never stand in for this one
(cd "$work/tree" && "$venv/bin/python" -m pytest resources_servers environments --gym-level static -q \
  --rootdir "$work/tree" -p no:cacheprovider --assert=plain --gym-report "$work/report.json" > "$work/pytest.out" 2>&1) || status=$?
compare_report corpus "$venv/bin/python" "$work/pytest.out" "$work/report.json" "$expected" "$status" "${1:-}"
echo "corpus: done in $(( $(date +%s) - started )) s"
