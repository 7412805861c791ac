"""NeMo Gym's tolerant metrics diff: previous keys must survive, floats match within a rounding tolerance."""

from __future__ import annotations

from collections import Counter


def floats_close(a: float, b: float) -> bool:
    """Return whether two floats agree within NeMo Gym's tolerance: 5e-3 when either is >= 1 in size, else 5e-4."""
    if a == b:
        return True
    tolerance = 5e-3 if max(abs(a), abs(b)) >= 1 else 5e-4
    return abs(a - b) <= max(tolerance, 1e-9)


def diff_metrics(previous: dict, new: dict) -> list[str]:
    """Return NeMo Gym's difference messages between a committed metrics document and a recomputed one.

    Every key of `previous` must exist in `new` (new keys are allowed, so old-shape files still match);
    only float-vs-float comparisons are tolerant; lists compare as multisets; paths are dotted.
    """
    differences: list[str] = []
    _diff(previous, new, "", differences)
    return differences


def _diff(old: object, new: object, path: str, out: list[str]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in old:
            sub_path = f"{path}.{key}" if path else key
            if key not in new:
                out.append(f"Missing key in new metrics: {sub_path}")
            else:
                _diff(old[key], new[key], sub_path, out)
        return
    if isinstance(old, list) and isinstance(new, list):
        _diff_lists(old, new, path, out)
        return
    if isinstance(old, float) and isinstance(new, float):
        if not floats_close(old, new):
            out.append(f"Numeric mismatch at {path}: {old} != {new}")
        return
    # Ints, strings, None and mixed int/float compare exactly, so 2 == 2.0 passes.
    if old != new:
        out.append(f"Value differs at {path}: {old} != {new}")


def _diff_lists(old: list, new: list, path: str, out: list[str]) -> None:
    if len(old) != len(new):
        out.append(f"List length differs at {path}: {len(old)} != {len(new)}")
        return
    try:
        old_counts, new_counts = Counter(old), Counter(new)
    except TypeError:
        _match_unhashable(old, new, path, out)
        return
    if old_counts != new_counts:
        out.append(f"Multiset mismatch at {path}: {old_counts} != {new_counts}")


def _match_unhashable(old: list, new: list, path: str, out: list[str]) -> None:
    """Pair each old element with the first unused new element that diffs clean, as NeMo Gym does."""
    used: set[int] = set()
    for i, old_item in enumerate(old):
        for j, new_item in enumerate(new):
            if j in used:
                continue
            trial: list[str] = []
            _diff(old_item, new_item, f"{path}[{i}]", trial)
            if not trial:
                used.add(j)
                break
        else:
            out.append(f"No matching element for {path}[{i}] in new metrics (unordered)")
