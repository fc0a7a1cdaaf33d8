"""Pairwise code similarity across a class, from the students' tokens; nothing is run.

`tokens` turns a Python file into normalised tokens (names the code binds become one token,
literals their kind; comments, docstrings, imports and layout dropped); `fingerprints` hashes
their k-grams and winnows them; `compare` reads the class through `grader.intake`, removes
what the stub and most of the class share, and scores every pair; `report` writes
`pairs.csv` and the terminal summary, `page` the HTML report with the matches side by side.
"""
