# shellcheck shell=bash
# managed by hacknode: what both sides ask of a team's uwsgi, found one way. Sourced by apply-lib.sh (provisioning,
# root) and release.sh (the team's releases, as the team); commands.remote_program puts this text in place of the
# `. uwsgi-lib.sh` line. Run by root, nothing here trusts what the team controls: the team's processes are only
# found (and signalled by the caller: the team's own), the team's log is quoted and stripped of control bytes.

hn_text() {  # stdin shown on a terminal (the instructor's: provisioning's StepPrinter reads it): control bytes as "?"
  # (a team's text in it must send the terminal no escape, nor end a line with a carriage return)
  LC_ALL=C tr '\000-\010\013-\037\177' '?'
}

hn_uwsgi_master() {  # TEAM INI: the pid of TEAM's uwsgi master, or nothing. The master is the team's oldest process
  # whose command line ends with `--ini INI` (supervisor's command; the re-executed master keeps it; its workers are
  # its children, younger). Asking supervisorctl, a Python program to start, took longer. [-]: never the shell that
  # runs this pattern.
  pgrep -o -u "$1" -f "[-]-ini ${2//./\\.}\$" || true
}

hn_log_why() {  # LOG [LINE]: why a team's uwsgi failed, from its log: the lines after LINE (a release's switch; the
  # log's end when it has no more lines: rotated meanwhile), from the last Python traceback on (a uwsgi that starts
  # workers on demand logs its start banner again and again after it), else the last 20; at most 40, quoted
  local from=0
  if [ -n "${2:-}" ] && [ "$(wc -l 2>/dev/null < "$1" || echo 0)" -gt "$2" ]; then from=$2; fi
  { if [ "$from" -gt 0 ]; then tail -n "+$(( from + 1 ))" "$1"; else tail -n 300 "$1"; fi || true; } 2>/dev/null |
    tail -n 300 |
    hn_text | awk '/^Traceback \(most recent call last\)/ { n = 0; seen = 1 } { line[++n] = $0 }
      END { start = seen ? 1 : (n > 20 ? n - 19 : 1); for (i = start; i <= n && i < start + 40; i++) print line[i] }' |
    sed 's/^/  | /'
}
