"""Use cases as functions with typed inputs and outputs that never touch the terminal:
open and close a grading session, plan and run a batch of generations, evaluate a samples
file. The top layer of the engine: the CLI commands and the app call these."""
