"""The track's steps, in the original workshop's order: one page, one exercise, one check each."""
from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    name: str           # what the learner types: ./inv workshop --step NAME
    title: str
    page: str           # the step's page, relative to the repository
    needs_db: bool      # its check starts the app on a database


def _step(number, name, title, needs_db=False):
    return Step(name, title, f"docs/workshop/{number:02d}-{name}.md", needs_db)


STEPS = [
    _step(1, "prototype", "The static prototype"),
    _step(2, "templates", "Templates and the template tester"),
    _step(3, "routes", "Flask routes and the request cycle"),
    _step(4, "mongodb", "MongoDB with pymongo: insert, find, sort, $inc", needs_db=True),
    _step(5, "upvotes", "Upvotes, explicit and implicit", needs_db=True),
    _step(6, "search", "Search", needs_db=True),
    _step(7, "spa", "The JSON API and the single-page variant", needs_db=True),
    _step(8, "deploy", "Deploying to your team's hacknode"),
    _step(9, "architecture", "The architecture review"),
    _step(10, "own-app", "Your own app, deployed with its Procfile"),
]

BY_NAME = {step.name: step for step in STEPS}


class UnknownStep(Exception):
    pass


def find_step(name):
    if name not in BY_NAME:
        raise UnknownStep(f"there is no step {name!r}; the steps are: {', '.join(BY_NAME)}")
    return BY_NAME[name]
