# managed by hacknode: `git push` deploys. `fab git_remote` installs this as <home>/repo.git/hooks/pre-receive,
# after the variables it sets: team branch host release_script releases (deploy/commands.git_hook_text).
# The pushed branch goes through the same release as `fab deploy` (release.sh, next to this hook): a new
# release folder, its virtualenv when requirements.txt changed, the atomic switch, /healthz and the way back.
# A pre-receive hook, so that a release that was rolled back refuses the push: git push ends non-zero and
# the branch on the server stays at what is live. Its output reaches the pusher as "remote: ..." lines.
set -euo pipefail
umask 022       # nginx serves static files from the release, through the home's group
zero=0000000000000000000000000000000000000000
refuse() { echo "[$team] push refused: $*" >&2; exit 1; }

sha=
while read -r _ new ref; do
    [ "$ref" = "refs/heads/$branch" ] || refuse "$ref: only $branch deploys (git push <remote> $branch)"
    [ "$new" != "$zero" ] || refuse "deleting $branch would leave nothing to deploy"
    sha=$new
done
[ -n "$sha" ] || exit 0
git cat-file -e "$sha:requirements.txt" 2>/dev/null || refuse "$branch has no requirements.txt (the virtualenv is built from it)"
id="$(date -u +%Y%m%dT%H%M%SZ)-$(git rev-parse --short=7 "$sha")"
req_hash=$(git show "$sha:requirements.txt" | sha256sum | cut -c1-12)
echo "[$team] git push of $branch ($sha) as release $id"
facts=$(bash "$release_script" facts "$req_hash" "$id")
case "$facts" in *env=missing*)
    echo "[$team] requirements.txt changed: virtualenv envs/$req_hash is built from the wheels on the server" ;;
esac
git archive --format=tar "$sha" | tar -x -C "$releases/$id"
if ! bash "$release_script" deploy "$id" "$req_hash" "$host"; then
    if [ ! -f "$releases/$id/RELEASE" ]; then
        bash "$release_script" abandon "$id" >/dev/null 2>&1 || true
        echo "[$team] release $id was not made; if its virtualenv could not be built: the server has no internet," \
             "run \`fab setup_virtualenv\` in your checkout (it ships the wheels), then push again" >&2
    fi
    refuse "release $id is not live; the live release is unchanged"
fi
echo "[$team] release $id is live at $(bash "$release_script" url "$host")/"
