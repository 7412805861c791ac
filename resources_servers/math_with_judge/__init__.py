"""math_with_judge: boxed math answers checked with math-verify and an optional LLM judge."""
