#!/usr/bin/env bash
# Runs a command with a throwaway, unlocked GNOME Keyring on the current D-Bus session (start it
# inside `dbus-run-session`), so tests exercise the real OS keychain (Secret Service) without ever
# touching the user's own keyrings: the keyring files live in a temporary dir, deleted afterwards.
set -euo pipefail
keyrings=$(mktemp -d)
trap 'rm -rf "$keyrings"' EXIT
printf 'countersign-test' | XDG_DATA_HOME="$keyrings" gnome-keyring-daemon --unlock --components=secrets >/dev/null
"$@"
