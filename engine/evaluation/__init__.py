"""Evaluation: the sandbox (parent side), the child harness, output comparison by each data
set's rules, and the Evaluator that turns an answer's code into a verdict. May import
``gradebench.engine.problems.model``, ``gradebench.engine.store.database`` and the shared modules."""
