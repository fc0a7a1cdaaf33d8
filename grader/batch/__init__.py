"""`grader grade`: many submissions, in parallel, streamed to disk, resumable.

`engine` plans and runs a batch and publishes its gradebook; `pool` forks one judge
process per submission; `budget` is a submission's wall-clock budget; `records` stores
each submission's result; `progress` draws the progress bar.
"""
