#!/usr/bin/env bash
# Replaces the Swagger UI files that generated projects serve at /docs with those of a
# swagger-ui-dist release from the npm registry, and records its version, licence and the files'
# checksums in the folder's README.md (the generated tests check the files against them).
#
#   bash scripts/update-swagger-ui.sh           # the newest 5.x
#   bash scripts/update-swagger-ui.sh 5.35.0    # a given 5.x release
#
# Needs npm. Only 5.x: the page's start-up script (docs.py) uses the 5.x API.
set -euo pipefail
cd "$(dirname "$0")/.."
target="{{cookiecutter.project_slug}}/{{cookiecutter.package_name}}/swagger_ui"
# What the page loads, and the licence texts that must travel with it.
files=(swagger-ui-bundle.js swagger-ui.css favicon-32x32.png LICENSE NOTICE swagger-ui-bundle.js.LICENSE.txt)

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
tarball="$(cd "$work" && npm pack --silent "swagger-ui-dist@${1:-5}")"
tar -xzf "$work/$tarball" -C "$work"
read -r version license < <(python3 -c 'import json, sys; p = json.load(open(sys.argv[1])); print(p["version"], p["license"])' "$work/package/package.json")
case "$version" in
  5.*) ;;
  *) echo "swagger-ui-dist $version is not a 5.x release: docs.py starts Swagger UI the 5.x way" >&2; exit 1 ;;
esac
integrity="$(npm view "swagger-ui-dist@$version" dist.integrity)"

rm -rf "$target"
mkdir -p "$target"
for file in "${files[@]}"; do
  cp "$work/package/$file" "$target/$file"
done

{
  echo "# Swagger UI $version"
  echo
  echo "What \`/docs\` serves: files of the npm package \`swagger-ui-dist\` $version, as published."
  echo
  echo "- Licence: $license (\`LICENSE\`, \`NOTICE\`); the libraries inside the bundle, with their"
  echo "  licences, are listed in \`swagger-ui-bundle.js.LICENSE.txt\`."
  echo "- Source: https://github.com/swagger-api/swagger-ui"
  echo "- The package's npm integrity: \`$integrity\`"
  echo
  echo "Do not edit them: replace them all with another release. The template's"
  echo "\`scripts/update-swagger-ui.sh [version]\` does that and rewrites this file; in a generated project,"
  echo "\`cruft update\` brings the template's copy, or by hand (npm needed):"
  echo
  echo '```bash'
  echo 'npm pack swagger-ui-dist@5   # prints swagger-ui-dist-<version>.tgz'
  echo 'tar -xzf swagger-ui-dist-*.tgz'
  echo "cp package/{$(IFS=,; echo "${files[*]}")} <this folder>/"
  echo '```'
  echo
  echo "then put the new version and checksums (\`sha256sum\`) here."
  echo
  echo "## sha256"
  echo
  echo '```'
  (cd "$target" && sha256sum "${files[@]}")
  echo '```'
} > "$target/README.md"

echo "Swagger UI $version ($license) is in $target:"
ls -l "$target"
