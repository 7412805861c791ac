"""Hand-made resources-server folders for the tests of the checks and of the pytest plugin."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from gym_conform.core.config.schema_datasets import DatasetConfig
from gym_conform.core.metrics.dataset_metrics import DatasetMetrics, MixedExtraTypesError
from gym_conform.core.metrics.document import dumps_metrics, metrics_document
from gym_conform.core.responses import make_response, message_item
from gym_conform.core.rows import check_row

CONFIG = """\
{name}_resources_server:
  resources_servers:
    {name}:
      entrypoint: app.py
      domain: math
      verified: false
      description: Add two numbers
{name}_simple_agent:
  responses_api_agents:
    simple_agent:
      entrypoint: app.py
      resources_server:
        type: resources_servers
        name: {name}_resources_server
      model_server:
        type: responses_api_models
        name: policy_model
      datasets:
      - name: train
        type: train
        jsonl_fpath: resources_servers/{name}/data/train.jsonl
        license: {train_license}
      - name: validation
        type: validation
        jsonl_fpath: resources_servers/{name}/data/validation.jsonl
        license: Apache 2.0
      - name: example
        type: example
        jsonl_fpath: resources_servers/{name}/data/example.jsonl
"""

README = """\
# Description

Add two numbers; verify() compares the boxed answer with `expected_answer`.

```bash
# Description of a command, not a heading
ng_prepare_data "+config_paths=[...]" +mode=example_validation
```

# Data

| field | read by verify |
|---|---|
| `expected_answer` | yes |

# Licensing information

Code: Apache 2.0
Data: Apache 2.0
"""


def make_row(number: int, **extra) -> dict:
    """Return a valid example row asking for number + number."""
    return {
        "responses_create_params": {"input": [{"role": "user", "content": f"What is {number}+{number}?"}]},
        "expected_answer": str(2 * number),
        **extra,
    }


ROWS = [make_row(number) for number in range(1, 6)]


def rollout(row: dict, reward: float = 1.0) -> dict:
    """Return a rollout line for `row`: the row, a model response and its reward."""
    response = make_response([message_item(f"\\boxed{{{row.get('expected_answer', '')}}}", id="msg_1")], id="resp_1")
    return {**row, "response": response.model_dump(mode="json"), "reward": reward}


def metrics_text(name: str, rows: list) -> str:
    """Return data/example_metrics.json as ng_prepare_data writes it for the valid rows among `rows`."""
    dataset = DatasetConfig(name="example", type="example", jsonl_fpath=f"resources_servers/{name}/data/example.jsonl")
    metrics = DatasetMetrics()
    for row in rows:
        if isinstance(row, dict) and not check_row(row):
            with contextlib.suppress(MixedExtraTypesError):
                metrics.observe_row(row)
    return dumps_metrics(metrics_document(dataset.model_dump(mode="json"), metrics))


def write_lines(path: Path, lines: list) -> Path:
    """Write dicts as JSON lines and strings as they are, each ending with a newline."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path


def build_server(
    root: Path,
    name: str = "alpha",
    *,
    rows: list | None = None,
    train_license: str = "Apache 2.0",
    config: str | None = None,
    readme: str | None = README,
    metrics: bool | str = True,
    rollouts: list | None = None,
) -> Path:
    """Create `root/resources_servers/<name>` that passes every static check unless told otherwise.

    `config` replaces the YAML text; `readme=None` and `metrics=False` leave those files out; a string
    `metrics` is written as is; `rollouts` defaults to one rollout per valid row.
    """
    folder = root / "resources_servers" / name
    rows = ROWS if rows is None else rows
    (folder / "configs").mkdir(parents=True, exist_ok=True)
    text = config if config is not None else CONFIG.format(name=name, train_license=train_license)
    (folder / "configs" / f"{name}.yaml").write_text(text)
    if readme is not None:
        (folder / "README.md").write_text(readme)
    write_lines(folder / "data" / "example.jsonl", rows)
    if metrics is not False:
        (folder / "data" / "example_metrics.json").write_text(
            metrics if isinstance(metrics, str) else metrics_text(name, rows)
        )
    if rollouts is None:
        rollouts = [rollout(row) for row in rows if isinstance(row, dict)]
    write_lines(folder / "data" / "example_rollouts.jsonl", rollouts)
    return folder
