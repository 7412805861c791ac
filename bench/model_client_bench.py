"""Benchmark VLLMModelClient: client CPU per request and concurrency reached, against the vLLM stand-in.

Each rollout is the tiny scripted model's two turns (a get_weather call, then the answer after the tool
output) with zero think time; all rollouts start at once and the client's `concurrency` bounds what is
in flight. The stand-in runs in its own process so only the client's CPU is counted; `--latency` is
its per-reply generation time. Prints one JSON object.

    .venv/bin/python bench/model_client_bench.py [--rollouts 2000] [--concurrency 32] [--latency 0.02]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from responses_api_models.vllm_model import VLLMModelClient, VLLMModelConfig  # noqa: E402

CPU_MS_PER_REQUEST_TARGET = 2.0
WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def rollout_params(index: int) -> dict:
    """Return a rollout's first request: one user question with the weather tool offered."""
    question = {"role": "user", "content": f"Rollout {index}: what is the weather in Paris?"}
    return {"input": [question], "tools": [WEATHER_TOOL], "max_output_tokens": 64, "temperature": 0.0}


async def run_rollout(client: VLLMModelClient, index: int) -> int:
    """Run one two-turn rollout; return the number of model requests it made."""
    params = rollout_params(index)
    key = f"rollout-{index}"
    first = await client.respond(params, session_key=key)
    call = first.output[-1]
    tool_output = {"type": "function_call_output", "call_id": call.call_id, "output": '{"temperature_c": 21}'}
    history = [*params["input"], *(item.as_input_item() for item in first.output), tool_output]
    await client.respond(params | {"input": history}, session_key=key)
    return 2


async def measure(base_url: str, rollouts: int, concurrency: int) -> dict:
    """Run the rollouts and return the client-side measurements."""
    config = VLLMModelConfig(base_url=base_url, model="tiny", api_key="bench-key", concurrency=concurrency)
    async with VLLMModelClient(config) as client, httpx.AsyncClient() as control:
        await asyncio.gather(*(run_rollout(client, -i - 1) for i in range(concurrency)))  # warm the pool
        await control.post(base_url.removesuffix("/v1") + "/_standin/reset")
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        requests = sum(await asyncio.gather(*(run_rollout(client, i) for i in range(rollouts))))
        cpu, wall = time.process_time() - cpu_start, time.perf_counter() - wall_start
        stats = (await control.get(base_url.removesuffix("/v1") + "/_standin/stats")).json()
    return {
        "rollouts": rollouts,
        "requests": requests,
        "requests_seen_by_stand_in": stats["requests"],
        "concurrency": concurrency,
        "max_in_flight_observed": stats["max_in_flight"],
        "wall_seconds": round(wall, 3),
        "requests_per_second": round(requests / wall, 1),
        "client_cpu_seconds": round(cpu, 3),
        "client_cpu_ms_per_request": round(1000 * cpu / requests, 3),
    }


def main() -> None:
    """Start the stand-in in a subprocess, run the benchmark and print the JSON result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rollouts", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency", type=float, default=0.02, help="stand-in seconds per reply")
    args = parser.parse_args()
    standin = subprocess.Popen(
        [sys.executable, "-m", "tests.standins.openai_server", "--latency", str(args.latency)],
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        base_url = json.loads(standin.stdout.readline())["base_url"]
        result = asyncio.run(measure(base_url, args.rollouts, args.concurrency))
    finally:
        standin.stdin.close()
        standin.wait(timeout=30)
    result |= {
        "stand_in_latency_seconds": args.latency,
        "target_cpu_ms_per_request": CPU_MS_PER_REQUEST_TARGET,
        "meets_cpu_target": result["client_cpu_ms_per_request"] < CPU_MS_PER_REQUEST_TARGET,
        "meets_concurrency_target": result["max_in_flight_observed"] >= args.concurrency,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
