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

python313=""
for candidate in /root/.pyenv/versions/3.13.0/bin/python python3.13; do
  if command -v "$candidate" > /dev/null 2>&1; then python313=$(command -v "$candidate"); break; fi
done
if [ -z "$python313" ] || [ ! -f "$wheel" ] || [ ! -d "$work/tree/resources_servers" ]; then
  echo "# corpus (server level): SKIPPED: needs CPython 3.13 and .ci/corpus.sh's wheel and tree in $work" >&2
  exit 0
fi

# nemo-gym with its runtime dependencies this time (the servers import them), and gym-conform from this
# checkout with its test extras (pytest-xdist). Rebuilt when pyproject.toml changes.
venv="$work/venv313server"
stamp=$(sha256sum "$here/pyproject.toml" | cut -c1-16)
if [ ! -f "$venv/.gym-conform-$stamp" ]; then
  rm -rf "$venv"
  "$python313" -m venv "$venv"
  {
    "$venv/bin/pip" install -q --upgrade pip
    "$venv/bin/pip" install -q --ignore-requires-python "$wheel"
    "$venv/bin/pip" install -q -e "$here[dev]"
  } > "$work/pip-server.log" 2>&1 || { tail -30 "$work/pip-server.log" >&2; exit 1; }
  touch "$venv/.gym-conform-$stamp"
fi
installed=$("$venv/bin/python" -I -c "import gym_conform, os; print(os.path.dirname(os.path.dirname(gym_conform.__file__)))" 2>/dev/null || true)
if [ "$installed" != "$here" ]; then
  "$venv/bin/pip" install -q -e "$here[dev]" >> "$work/pip-server.log" 2>&1 || { tail -30 "$work/pip-server.log" >&2; exit 1; }
fi

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
tail -n 3 "$work/server_pytest.out"
if grep -q "INTERNALERROR" "$work/server_pytest.out"; then
  grep -m 20 "INTERNALERROR" "$work/server_pytest.out" >&2
  echo "corpus (server level): pytest reported an internal error (full output: $work/server_pytest.out)" >&2
  exit 1
fi
if [ "${1:-}" = "--update" ]; then
  "$venv/bin/python" "$here/.ci/corpus_compare.py" "$work/server_report.json" "$expected" --update
else
  "$venv/bin/python" "$here/.ci/corpus_compare.py" "$work/server_report.json" "$expected" --pytest-exit "$status"
fi
echo "corpus (server level): ${#servers[@]} servers in $(( $(date +%s) - started )) s"
echo "nemo_gym_python=$venv/bin/python"
