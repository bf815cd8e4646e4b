"""Reporting: loading grades for a report, statistics (pass@k, confidence intervals,
agreement, pairwise), and one renderer per export format. May import ``engine.grading`` and
the layers below."""
