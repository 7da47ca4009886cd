"""The workshop as a learner's track: its steps (steps.py), one check per exercise (checks.py, run
in the learner's working tree by runner.py) and the reference solutions (solutions/, kept apart
from the app). The pages are in docs/workshop/; `./inv workshop` runs the checks."""
