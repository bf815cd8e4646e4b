"""Problems: the Problem and TestCase types, suites (problem files, HumanEval, EvalPlus
formats), the content key of a problem, and mutants of reference solutions. May import
``gradebench.engine.store.database`` and the shared modules (errors, config, collector)."""
