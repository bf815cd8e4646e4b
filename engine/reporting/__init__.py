"""Reporting: loading grades for a report, statistics (pass@k, confidence intervals,
agreement, pairwise), and one renderer per export format. May import ``gradebench.engine.grading`` and
the layers below.

A report: ``selection`` checks what was asked, ``loading`` reads the table, ``grouping``,
``agreement`` and ``pairwise`` compute from it (with ``stats``), ``report`` puts it
together (``report_cache`` remembers it) into the values of ``model``; ``tables`` shapes
it for the files of ``formats`` (chosen by ``export``); ``raw_grades`` exports every grade
event."""
