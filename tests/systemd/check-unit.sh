#!/bin/sh
# The unit file, offline: an exposure of 1.5 or less in `systemd-analyze
# security --offline=true`, `systemd-analyze verify` clean (with ExecStart
# pointed at the built binary, and the man pages of Documentation= found in
# the source tree), no static group named like the dynamic user, and an
# ExecReload= that fails on an invalid config.
# (tests/systemd/test_service.py runs the installed unit under a real
# systemd.)
#   check-unit.sh SOURCE_DIR TANDEM_BINARY
set -eu
src=$1
bin=$2
unit=$src/systemd/tandem.service
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for key in Type=notify WatchdogSec= ExecReload= Restart=on-failure DynamicUser=yes \
           StateDirectory=tandem ConfigurationDirectory=tandem; do
        grep -q "^$key" "$unit" || { echo "FAIL: $unit lacks $key"; exit 1; }
done

report=$(systemd-analyze security --offline=true "$unit" 2>&1)
exposure=$(printf '%s\n' "$report" | sed -n 's/.*Overall exposure level for tandem.service: \([0-9.]*\).*/\1/p')
[ -n "$exposure" ] || { printf '%s\nFAIL: no exposure level found\n' "$report"; exit 1; }
awk -v e="$exposure" 'BEGIN { exit !(e <= 1.5) }' || {
        printf '%s\nFAIL: exposure %s is above 1.5\n' "$report" "$exposure"; exit 1; }
echo "exposure $exposure (at most 1.5)"

sed "s#/usr/bin/tandem#$bin#" "$unit" > "$tmp/tandem.service"
out=$(MANPATH="$src/man" systemd-analyze verify "$tmp/tandem.service" 2>&1) || true
if [ -n "$out" ]; then
        printf '%s\nFAIL: systemd-analyze verify is not clean\n' "$out"
        exit 1
fi
echo "systemd-analyze verify: clean"

# DynamicUser= names the user (and its group) after User=, else the unit; a
# static user or group of that name makes every start fail with 217/USER.
user=$(sed -n 's/^User=//p' "$unit")
user=${user:-tandem}
groups=$(sed -n 's/^g \([^ ]*\).*/\1/p' "$src/systemd/tandem.sysusers")
for g in $groups; do
        [ "$g" != "$user" ] || { echo "FAIL: tandem.sysusers makes a group \"$g\", the dynamic user's name"; exit 1; }
done
supplementary=$(sed -n 's/^SupplementaryGroups=//p' "$unit")
config_group=$(sed -n 's#^z /etc/tandem/tandem.ini 0640 root \([^ ]*\).*#\1#p' "$src/systemd/tandem.tmpfiles")
if [ -z "$groups" ] || [ "$supplementary" != "$groups" ] || [ "$config_group" != "$groups" ]; then
        echo "FAIL: the config's group (tmpfiles: \"$config_group\"), SupplementaryGroups= (\"$supplementary\")" \
             "and the sysusers group (\"$groups\") differ"
        exit 1
fi
echo "dynamic user \"$user\"; the config is 0640 root:$groups"

# ExecReload=: SIGHUP to the daemon (which refuses an invalid config on its
# own), then a check of the same file whose exit status is the reload's: it
# must fail on an invalid config, and print nothing on success (no summary
# with the feed token in the journal).
reload=$(sed -n 's/^ExecReload=//p' "$unit")
# shellcheck disable=SC2016  # ${MAINPID} is systemd's
expected='/bin/sh -c "kill -HUP ${MAINPID}"
/bin/sh -c "exec /usr/bin/tandem -c /etc/tandem/tandem.ini check --quiet 2>/dev/null"'
[ "$reload" = "$expected" ] || { printf 'FAIL: ExecReload= is\n%s\nnot\n%s\n' "$reload" "$expected"; exit 1; }
cp "$src/config/example.ini" "$tmp/good.ini"
cp "$src/config/holidays.ics" "$tmp/holidays.ics" # the example's company holidays
out=$("$bin" -c "$tmp/good.ini" check --quiet) || { echo "FAIL: ExecReload's check refuses the example config"; exit 1; }
[ -z "$out" ] || { printf '%s\nFAIL: check --quiet printed a summary\n' "$out"; exit 1; }
printf '[meeting:broken]\ntitle = Broken\n' >> "$tmp/good.ini"
if "$bin" -c "$tmp/good.ini" check --quiet 2> "$tmp/err"; then
        echo "FAIL: ExecReload's check accepts an invalid config"
        exit 1
fi
grep -q "good.ini:[0-9]*: \[meeting:broken\]" "$tmp/err" || { cat "$tmp/err"; echo "FAIL: no FILE:LINE error"; exit 1; }
echo "ExecReload= signals the daemon, then fails on an invalid config"
