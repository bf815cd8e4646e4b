"""Generation: the Backend contract and its backends (gpt4all), the thread budget, the
model and contender registry, the default model, and prompts. May import ``engine.problems``,
``engine.store`` and the shared modules."""
