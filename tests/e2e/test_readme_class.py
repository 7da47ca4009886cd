"""README.md's `<!-- run: class -->` blocks (instructor and team commands), run in order in a fresh copy of
this checkout against the end-to-end tests' provisioned class: HACKNODE_INVENTORY is its inventory,
HACKNODE_ADMIN_KEY its instructor key, and each team's key is where the team tasks look (.hacknode/keys)."""
import shutil

import pytest

from tests.test_readme import fresh_copy, run_block, sh_blocks

pytestmark = pytest.mark.e2e


def test_class_blocks_run_as_written_against_a_provisioned_class(provisioned_class, tmp_path):
    copy = fresh_copy(tmp_path / "hacknode")
    (copy / ".hacknode/keys").mkdir(parents=True)
    for team, key in provisioned_class.key.items():
        shutil.copy2(key, copy / ".hacknode/keys" / team)
        shutil.copy2(f"{key}.pub", copy / ".hacknode/keys" / f"{team}.pub")
    env = {"HACKNODE_INVENTORY": provisioned_class.path, "HACKNODE_ADMIN_KEY": provisioned_class.root_key}
    # the README's `git push` is a team's first: another test sharing this class may have pushed its own history
    with provisioned_class.as_team("hacknode1") as c:
        c.run("git -C ~/repo.git update-ref -d refs/heads/main 2>/dev/null || true", hide=True)
    outputs = [run_block(code, line, copy, env) for code, line in sh_blocks("class")]
    everything = "\n".join(outputs)
    assert "would change" in everything or "ok" in everything        # fab provision --dry
    assert "RUNNING" in everything and "HEALTHZ" in everything        # fab status
    assert "Host hacknode1" in everything                            # fab ssh_config
    assert "is live at http://hacknode1.hacknode.test/" in everything  # fab deploy
    assert "sealed: every attack denied or bounded" in everything    # fab audit (its exit 0 is the block's)
    for team in provisioned_class.teams:                              # every team left working
        assert provisioned_class.http(team, "/healthz")[0] == 200
