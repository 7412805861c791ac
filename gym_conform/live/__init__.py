"""Live runs against a policy model: the model's setup (or `vllm serve`), rollouts of the example rows, summaries."""
