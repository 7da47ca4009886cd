# managed by hacknode: tls mode acme's program on a class server (root); installed by provisioning as layout.ACME_TOOL, after a header
# that sets certs, live, bundle (deploy/commands.acme_tool_text).
#   stand-in NAME...   a self-signed certificate for each NAME that has none yet, so that nginx loads its HTTPS
#                      server before certbot's certificate exists (nginx -t refuses a missing file)
#   link NAME...       point the files nginx loads for NAME at certbot's live certificate of NAME
#   forget NAME...     remove those files (their certificate is deleted from certbot)
#   renew [ARGS...]    certbot renew with the class's CA bundle: the command of certbot.timer and of the cron entry
#   reload             certbot's deploy hook: nginx reloads its certificates when its config passes nginx -t
set -euo pipefail
umask 022

reload_nginx() {
  nginx -t 2>/dev/null || { echo "nginx -t fails: nginx not reloaded" >&2; return 1; }
  if [ -d /run/systemd/system ]; then systemctl reload nginx; else service nginx reload >/dev/null; fi
}

command=${1:-}
shift || true
case "$command" in
  stand-in)
    for name in "$@"; do
      [ -e "$certs/$name/fullchain.pem" ] && continue
      # shellcheck disable=SC2174  # its parents as mkdir -p makes them; NAME's own folder 0700
      mkdir -p -m 0700 "$certs/$name"
      openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=$name" \
        -keyout "$certs/$name/privkey.pem" -out "$certs/$name/fullchain.pem" 2>/dev/null
      chmod 0600 "$certs/$name/privkey.pem"
    done ;;
  link)
    for name in "$@"; do
      [ -e "$live/$name/fullchain.pem" ] || { echo "certbot has no certificate for $name" >&2; exit 1; }
      # shellcheck disable=SC2174  # its parents as mkdir -p makes them; NAME's own folder 0700
      mkdir -p -m 0700 "$certs/$name"
      for file in fullchain.pem privkey.pem; do
        ln -sfn "$live/$name/$file" "$certs/$name/$file.hn-new" && mv -fT "$certs/$name/$file.hn-new" "$certs/$name/$file"
      done
    done ;;
  forget)
    for name in "$@"; do rm -rf "${certs:?}/$name"; done ;;
  renew)
    if [ -s "$bundle" ]; then export REQUESTS_CA_BUNDLE=$bundle; fi
    exec certbot renew --quiet --no-random-sleep-on-renew "$@" ;;
  reload)
    reload_nginx ;;
  *)
    echo "usage: $0 stand-in|link|forget NAME... | renew [ARGS...] | reload" >&2; exit 2 ;;
esac
