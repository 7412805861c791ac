"""example_single_tool_call: answer a weather question with one get_weather call."""
