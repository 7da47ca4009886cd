# managed by hacknode: unpack the uploaded provisioning bundle into a private directory and run its script
# (apply.sh removes the directory when it ends). Argument: the upload, relative to the admin's home, where no
# other user can have put or swapped a file. Runs as root.
set -e
d=$(mktemp -d /var/tmp/hacknode-stage.XXXXXX)
tar -xf "$1" -C "$d"
rm -f "$1"
exec bash "$d/apply.sh" "$d"
