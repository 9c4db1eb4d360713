"""Reading inputs: the input workbook, its templates and the demo data."""
