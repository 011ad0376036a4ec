"""Offline fakes of the OpenAI and Anthropic APIs for the examples and the SDK's tests."""

from fake_llm.scenario import Scenario
from fake_llm.server import FakeLLMServer

__all__ = ["FakeLLMServer", "Scenario"]
