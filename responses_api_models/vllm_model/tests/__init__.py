"""Tests of the vllm_model client and its Responses <-> Chat Completions converter."""
