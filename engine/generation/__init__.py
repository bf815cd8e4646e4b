"""Generation: the Backend contract and its backends (gpt4all), the thread budget, the
model and contender registry, the default model, and prompts. May import ``gradebench.engine.problems.model``,
``gradebench.engine.store.database`` and the shared modules."""
