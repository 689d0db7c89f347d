"""The school and unit directory: organizers import it from XLSX/CSV, edit it, merge
duplicates and place students whose school was not listed at sign-up.

    files.py      the file format: columns, reading and checking rows (spreadsheets)
    services.py   every write: import (all or nothing), edit, merge, placement; each
                  one transaction with a DirectoryChange audit row
    selectors.py  reads: the lists, pending schools, students of given school stages
    forms.py, views.py, urls.py   the organizer pages under /directory/

files.py describes the file; docs/architecture.md where the directory sits.
"""
