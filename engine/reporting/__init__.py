"""Reporting: loading grades for a report, statistics (pass@k, confidence intervals,
agreement, pairwise), and one renderer per export format. May import ``gradebench.engine.grading.events`` and
the layers below."""
