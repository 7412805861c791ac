"""vllm_model: Responses API requests answered by a vLLM (OpenAI-compatible) Chat Completions server."""

from responses_api_models.vllm_model.client import VLLMModelClient
from responses_api_models.vllm_model.config import VLLMModelConfig

__all__ = ["VLLMModelClient", "VLLMModelConfig"]
