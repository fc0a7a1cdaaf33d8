"""What students hand in, made gradable without running any of it.

`entries` finds one entry per student in a submissions folder; `archive` and `notebook`
unpack .zip archives and .ipynb notebooks; `submission` copies a hand-in into the worker's
private folder; `files` holds the rules both follow (which files count, the size caps).
"""
