#!/bin/sh
# make_man_pages.sh STREAMGATE VERSION OUTDIR PAGE...: a man page per PAGE from its --help, with help2man.
# PAGE "streamgate" is the program itself; any other is a subcommand (streamgate-PAGE.1).
# tools: help2man gzip
set -eu
bin=$1 version=$2 out=$3
shift 3
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for page in "$@"; do
    if [ "$page" = streamgate ]; then
        name=streamgate
        printf '#!/bin/sh\nexec "%s" "$@"\n' "$bin" > "$tmp/$name"
    else
        name=streamgate-$page
        printf '#!/bin/sh\nexec "%s" %s "$@"\n' "$bin" "$page" > "$tmp/$name"
    fi
    chmod +x "$tmp/$name"
    summary=$("$tmp/$name" --help | head -n 1 | sed 's/^streamgate: //')
    help2man --no-info --no-discard-stderr --version-string="$version" --name="$summary" \
        --source="streamgate $version" --section=1 "$tmp/$name" > "$tmp/$name.1"
    gzip -9nc "$tmp/$name.1" > "$out/$name.1.gz"
done
