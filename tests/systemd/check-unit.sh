#!/bin/sh
# The unit file as SPEC.md section 6 requires: an exposure of 1.5 or less in
# `systemd-analyze security --offline=true`, and `systemd-analyze verify`
# clean (with ExecStart pointed at the built binary, and the man pages of
# Documentation= found in the source tree).
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
