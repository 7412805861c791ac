#!/usr/bin/env bash
# Real-corpus check, server level: gym-conform's server checks over the NeMo Gym 0.7.0 servers that need nothing
# outside the nemo-gym venv (no judge model, API key, sandbox or network), each built as NeMo Gym builds it in a
# child process, compared with .ci/nemo_gym_070_server_expected.json (the servers it must reach, and every
# remaining failure with why it is a real defect of that server). Run by .ci/run after .ci/corpus.sh, which
# leaves the wheel and a fresh tree in the work dir. Usage: .ci/corpus_server.sh [--update]
# Prints `nemo_gym_python=PATH`: the venv (nemo-gym 0.7.0 with its own dependencies, plus gym-conform), which
# the test of --gym-server-url against a server started by NeMo Gym's `gym env start` uses.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
work=${GYM_CONFORM_CORPUS_DIR:-/tmp/gym-conform-corpus}
expected="$here/.ci/nemo_gym_070_server_expected.json"
wheel="$work/nemo_gym-0.7.0-py3-none-any.whl"
started=$(date +%s)

source "$here/.ci/corpus_lib.sh"
python313=$(find_python313)
if [ -z "$python313" ] || [ ! -f "$wheel" ] || [ ! -d "$work/tree/resources_servers" ]; then
  echo "# corpus (server level): SKIPPED: needs CPython 3.13 and .ci/corpus.sh's wheel and tree in $work" >&2
  exit 0
fi

# nemo-gym with its runtime dependencies this time (the servers import them), and gym-conform from this
# checkout with its test extras (pytest-xdist). Rebuilt when pyproject.toml changes.
install_wheel_with_dependencies() { "$1/bin/pip" install -q --ignore-requires-python "$wheel"; }
venv="$work/venv313server"
ensure_venv "$venv" "$work/pip-server.log" install_wheel_with_dependencies "$here[dev]"

# A copy of the tree of its own: servers write caches and venv markers into their folders.
rm -rf "$work/server_tree"
cp -r "$work/tree" "$work/server_tree"
read -r -a servers <<< "$("$venv/bin/python" "$here/.ci/corpus_compare.py" --list-servers "$expected")"

# The servers' own tests need their own venvs (and a conftest that fails to import stops the collection); the
# checks need neither. Two workers, one server each at a time (--dist loadscope keeps a server's checks together).
status=0
rm -f "$work/server_report.json"
(cd "$work/server_tree" && "$venv/bin/python" -m pytest "${servers[@]}" --gym-level server -q -p no:cacheprovider \
  --rootdir "$work/server_tree" --noconftest --ignore-glob 'resources_servers/*/tests' --assert=plain \
  --gym-hypothesis-profile gym-conform-ci --gym-max-examples 10 -n 2 --dist loadscope \
  --gym-report "$work/server_report.json" > "$work/server_pytest.out" 2>&1) || status=$?
compare_report "corpus (server level)" "$venv/bin/python" "$work/server_pytest.out" "$work/server_report.json" \
  "$expected" "$status" "${1:-}"
echo "corpus (server level): ${#servers[@]} servers in $(( $(date +%s) - started )) s"
echo "nemo_gym_python=$venv/bin/python"
