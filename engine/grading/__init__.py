"""Grading: the rubric, append-only grade events, votes, blind presentations, reviewer
settings and navigation through a suite. May import ``engine.answers`` and the layers below."""
