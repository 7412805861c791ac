"""The vllm_model client: Responses API requests answered by a vLLM (OpenAI-compatible) Chat Completions server."""

from gym_conform.models.vllm.client import VLLMModelClient
from gym_conform.models.vllm.config import VLLMModelConfig

__all__ = ["VLLMModelClient", "VLLMModelConfig"]
