"""What a run writes: results workbooks, PDFs, CSV files, and recomputing them in LibreOffice and Gnumeric."""
