"""The trusted side: grading one submission with pytest checks.

`runner` grades a submission; `plugin` is the pytest plugin with the check fixtures (and
loads the reference solution); `proxy` is the `student` fixture that talks to the worker;
`forbidden` holds every forbidden-API rule; `replay` records and replays the reference's
answers; `hints` names the likely mistake behind a wrong answer.
"""
