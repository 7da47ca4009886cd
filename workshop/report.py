"""What `./inv workshop` prints: every step and whether its exercise is done, or one step's verdict."""
from workshop.runner import run_checks
from workshop.steps import STEPS, find_step

INDEX = "docs/workshop/README.md"


def run(tree, step_name="", say=print):
    """The whole track (True), or one step's check (True when its exercise is done)."""
    if step_name:
        step = find_step(step_name)
        say(f"workshop {step.name}: {step.title} ({step.page})")
        result = run_checks(tree, [step])[0]
        say(result.said)
        return result.passed
    say(f"workshop: the track is in docs/workshop/, one page per step (start with {INDEX})")
    results = run_checks(tree, STEPS)
    width = max(len(step.name) for step in STEPS)
    for number, result in enumerate(results, 1):
        state = "done" if result.passed else "not yet"
        say(f"  {number}. {result.step.name:<{width}}  {state:<7}  {result.step.title}  ({result.step.page})")
    done = sum(result.passed for result in results)
    say(f"workshop: {done} of {len(results)} exercises done; ./inv workshop --step STEP says what a step still needs")
    return True
