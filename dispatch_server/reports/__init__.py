"""The monthly KPI report as a PDF (issue 15, decision 49).

`fonts` finds a CJK TrueType font to embed (else reportlab's built-in STSong-Light), `words`
holds what the report says in Chinese and English, `chart` draws the bar chart per grid,
and `monthly` lays the report out. Nothing here touches the database: services/kpi_report.py
reads and scores the month and hands plain data in.
"""
