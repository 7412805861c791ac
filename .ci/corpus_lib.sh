# Shared steps of .ci/corpus.sh and .ci/corpus_server.sh (sourced, not run): finding CPython 3.13, keeping a
# 3.13 venv with this checkout installed, and turning a pytest run into the comparison with an expected file.
# The caller sets `here` (the checkout) and `work` (the corpus work dir) first.

# Prints the path of a CPython 3.13, or nothing when the machine has none.
find_python313() {
  local candidate
  for candidate in /root/.pyenv/versions/3.13.0/bin/python python3.13; do
    if command -v "$candidate" > /dev/null 2>&1; then command -v "$candidate"; return 0; fi
  done
}

# ensure_venv VENV LOG BUILD [EDITABLE_SPEC]: (re)creates VENV when pyproject.toml changed, running the
# function BUILD (its output to LOG) inside a fresh venv, then makes sure gym-conform points at this checkout
# (an editable install; -I so the checkout's own gym_conform/ is not found through the working directory).
ensure_venv() {
  local venv=$1 log=$2 build=$3 spec=${4:-$here}
  local stamp installed
  stamp=$(sha256sum "$here/pyproject.toml" | cut -c1-16)
  if [ ! -f "$venv/.gym-conform-$stamp" ]; then
    rm -rf "$venv"
    "$python313" -m venv "$venv"
    { "$venv/bin/pip" install -q --upgrade pip && "$build" "$venv"; } > "$log" 2>&1 || { tail -30 "$log" >&2; return 1; }
    touch "$venv/.gym-conform-$stamp"
  fi
  installed=$("$venv/bin/python" -I -c "import gym_conform, os; print(os.path.dirname(os.path.dirname(gym_conform.__file__)))" 2>/dev/null || true)
  if [ "$installed" != "$here" ]; then
    "$venv/bin/pip" install -q -e "$spec" >> "$log" 2>&1 || { tail -30 "$log" >&2; return 1; }
  fi
}

# compare_report NAME PYTHON OUT REPORT EXPECTED STATUS [--update]: fails on an internal error in pytest's
# output OUT, then compares REPORT with EXPECTED (or rewrites EXPECTED with --update, keeping written reasons).
compare_report() {
  local name=$1 python=$2 out=$3 report=$4 expected=$5 status=$6 mode=${7:-}
  tail -n 3 "$out"
  if grep -q "INTERNALERROR" "$out"; then
    grep -m 20 "INTERNALERROR" "$out" >&2
    echo "$name: pytest reported an internal error (full output: $out)" >&2
    return 1
  fi
  if [ "$mode" = "--update" ]; then
    "$python" "$here/.ci/corpus_compare.py" "$report" "$expected" --update
  else
    "$python" "$here/.ci/corpus_compare.py" "$report" "$expected" --pytest-exit "$status"
  fi
}
