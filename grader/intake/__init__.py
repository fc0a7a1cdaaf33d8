"""What students hand in, made gradable without running any of it.

`entries` finds one entry per student in a submissions folder; `archive` and `notebook`
unpack .zip archives and .ipynb notebooks; `submission` copies a hand-in into the worker's
private folder; `files` holds the rules they all follow: how a student's file is opened (no
link followed, nothing but regular files), which files count, the caps. Whatever cannot be
read or parsed is a SubmissionError naming the hand-in and why.
"""
