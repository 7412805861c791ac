"""The agent side: model clients, NeMo Gym's simple_agent loop, and rollout files."""

from gym_conform.agent.loop import RolloutResult, run_rollout
from gym_conform.agent.model import ModelClient, ReplayModel
from gym_conform.agent.rollouts import RolloutRecord, read_rollouts, rollout_line, row_of, write_rollouts

__all__ = [
    "ModelClient",
    "ReplayModel",
    "RolloutRecord",
    "RolloutResult",
    "read_rollouts",
    "rollout_line",
    "row_of",
    "run_rollout",
    "write_rollouts",
]
