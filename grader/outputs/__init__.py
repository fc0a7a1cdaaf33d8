"""Everything a result becomes: files, terminal reports, annotations.

`schema` is the result schema; `redact` decides what a reader sees of a hidden check;
`terminal` the rich report; `formats` JSON, JUnit and Gradescope files; `github` Actions
annotations; `deliver` routes one result to the terminal, a file or stdout; `gradebook`,
`feedback` and `summary` are a batch's gradebook, per-student feedback and class summary.
"""
