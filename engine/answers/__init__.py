"""Answers: extracting code from an answer (fences, Python source questions), recording
answers as they stream, and the per-answer pipeline (generate, extract, evaluate, store).
May import ``engine.evaluation``, ``engine.generation`` and the layers below them."""
