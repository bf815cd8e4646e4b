"""Evaluation: the sandbox (parent side), the child harness, output comparison by each data
set's rules, and the Evaluator that turns an answer's code into a verdict. May import
``engine.problems``, ``engine.store`` and the shared modules."""
