"""End-to-end fixtures: isolated class servers on this machine (deploy/testhost.py). Needs root.

Test hosts are named hn-t<suffix> and use indexes 100..199 (addresses 10.131.1xx.2), so the tests can run
while `./inv demo`'s class (indexes 1..99) is up."""
import pytest

from deploy import localhost, testhost

FIRST_INDEX, LAST_INDEX = 100, 199


@pytest.fixture(scope="session")
def host_factory():
    """make(suffix) -> Host: starts host hn-t<suffix> (once per session; the same suffix gives the same host).
    Stale hn-t* hosts of a killed run are stopped first; every host made is stopped at the end of the session."""
    try:
        localhost.require_root("the end-to-end tests start isolated hosts (or run: ./inv test --fast)")
        localhost.ensure_packages(localhost.HOST_PACKAGES)
    except localhost.LocalError as e:
        pytest.fail(str(e), pytrace=False)
    testhost.stop_all("hn-t")
    made = {}   # name -> index

    def make(suffix):
        name = f"hn-t{suffix}"
        if name not in made:
            if FIRST_INDEX + len(made) > LAST_INDEX:
                raise testhost.HostError(f"more than {LAST_INDEX - FIRST_INDEX + 1} test hosts in one session")
            made[name] = FIRST_INDEX + len(made)
        return testhost.start_host(name, made[name])   # returns the running host as it is, or starts it

    yield make
    for name in made:
        testhost.stop_host(name)
