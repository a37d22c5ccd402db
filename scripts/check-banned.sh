#!/usr/bin/env bash
# Fail if project C sources call functions we ban (curl's list): they are
# unbounded or have error semantics that hide bugs.  Use snprintf, memcpy
# with explicit lengths, and the bounded number parsers in agent/src/base/strnum.c.
set -euo pipefail
cd "$(dirname "$0")/.."
banned='\b(sprintf|vsprintf|strcpy|strcat|strncpy|strncat|strtok|atoi|atol|atoll|atof|sscanf|gets)[[:space:]]*\('
if grep -rnE "$banned" --include='*.c' --include='*.h' spoe agent tests \
     | grep -vE '^\S+:[0-9]+:\s*(\*|//)'; then
  echo "check-banned: banned function used (see above)" >&2
  exit 1
fi
echo "check-banned: ok"
