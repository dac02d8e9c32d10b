"""Every lesson, end to end, with `LAB_MODEL=env` against model servers posing as the learner's own.

`python -m tests.own_model` (what `make test-own-model` runs) starts the remotes, then executes each lesson
notebook once per route, the way a workshop with real keys would run it: outputs are not compared (real
answers differ), but any cell error fails the run, and so does a key or token found in a saved output.
"""
