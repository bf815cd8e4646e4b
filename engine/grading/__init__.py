"""Grading: the rubric, append-only grade events, votes, blind presentations, reviewer
settings and navigation through a suite. May import ``gradebench.engine.answers.recording`` and the layers below."""
