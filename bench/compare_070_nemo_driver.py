"""Run NeMo Gym 0.7.0's own `ng_prepare_data` entry function on many configs in one process (its venv's python).

Called by `compare_070_prepare.py`: one JSON job per stdin line, one JSON result per stdout line (the caller
restores the tree between jobs).
The console script itself spends ~20 s importing per run on this machine; in one process the imports are
paid once and each run takes what the preparation takes. `--subprocess` in the caller runs the console
script instead. Each job: `argv` (the overrides), `cwd` (a copy of the tree), `output` (the log file).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import traceback


def run_one(job: dict) -> dict:
    """Run `ng_prepare_data <argv>` in `cwd` as the console script would; return its exit code and last error."""
    import hydra.core.global_hydra
    import nemo_gym.global_config as global_config
    from nemo_gym.cli.dataset import prepare_data

    global_config._GLOBAL_CONFIG_DICT = None
    os.environ.pop(global_config.NEMO_GYM_CONFIG_DICT_ENV_VAR_NAME, None)
    hydra.core.global_hydra.GlobalHydra.instance().clear()
    os.chdir(job["cwd"])
    sys.argv = ["ng_prepare_data", *job["argv"]]
    log = io.StringIO()
    code, error = 0, None
    with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        try:
            prepare_data()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException as exc:  # noqa: BLE001 - every failure is a verdict to record
            code = 1
            error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            log.write(traceback.format_exc())
    with open(job["output"], "w", encoding="utf-8") as handle:
        handle.write(log.getvalue())
    return {"code": code, "error": error}


def main() -> None:
    """Answer each job line on stdin with one result line on stdout."""
    import warnings

    warnings.simplefilter("ignore")
    out = sys.stdout
    for line in sys.stdin:
        job = json.loads(line)
        result = run_one(job)
        out.write(json.dumps({"id": job["id"], **result}) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
