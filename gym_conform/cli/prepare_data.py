"""`ng_prepare_data`: validate datasets, compute their metrics and collate training files with their routing key."""

from __future__ import annotations

from collections.abc import Sequence

from gym_conform.cli.common import read_options, render_help, run, wants_help
from gym_conform.prepare.options import PrepareOptions

PROG = "ng_prepare_data"
SUMMARY = (
    "Validate every row of the datasets that the configs declare, write <stem>_metrics.json next to each\n"
    "dataset, and collate the rows (with task_source or agent_ref added, see +routing) into\n"
    "<output_dirpath>/<type>.jsonl.\n"
    "Every bad row is reported with file, line and field; a type with bad rows gets no collated file."
)
EXAMPLES = [
    'ng_prepare_data "+config_paths=[responses_api_models/vllm_model/configs/vllm_model_for_training.yaml,'
    'resources_servers/example_multi_step/configs/example_multi_step.yaml]" +output_dirpath=data/test '
    "+mode=example_validation",
    'ng_prepare_data "+config_paths=[resources_servers/math_with_judge/configs/openmathinstruct2.yaml]" '
    "+mode=train_preparation +output_dirpath=data",
]


def command(argv: Sequence[str]) -> int:
    """Parse arguments, load configs and run the preparation."""
    if wants_help(argv):
        print(render_help(PROG, SUMMARY, PrepareOptions, EXAMPLES))
        return 0
    # Imported here so that `--help` costs only the option definitions (the pipeline pulls in numpy, orjson...).
    from gym_conform.core.config.loader import NO_MODEL_DEFAULTS, load_config
    from gym_conform.core.config.overrides import parse_overrides
    from gym_conform.prepare.pipeline import prepare_data

    cli = parse_overrides(argv)
    cfg = load_config(cli, initial=NO_MODEL_DEFAULTS)
    options = read_options(PrepareOptions, cfg.data, PROG)
    prepare_data(options, cfg, echo=lambda text: print(text, flush=True))
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point."""
    run(command, argv)


if __name__ == "__main__":
    main()
