"""Export formats of a report, one module each: ``csv_table``, ``json_report``, ``markdown``,
``latex`` (booktabs) and ``html_page``. Each has one ``render_*(report) -> str``; which
format name maps to which renderer is ``gradebench.engine.reporting.export``'s job."""
