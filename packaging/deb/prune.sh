#!/usr/bin/env bash
# Trims a staged /usr/lib/launcho for the package and normalizes it the way dh_fixperms would:
# drops what npm packages publish but never load (docs, tests, examples, type declarations, source
# maps, images, shell scripts, tooling dotfiles); JavaScript loses its "#!/usr/bin/env node" line
# (the bundled Node.js runs it, through /usr/bin/launcho) and no file but a real script stays
# executable.
# Usage: prune.sh STAGED_APP_DIR   (license files are removed later, once copyright.mjs has read them)
set -euo pipefail

app=$1
modules=$app/node_modules

find "$modules" -depth -type d \( -name test -o -name tests -o -name __tests__ -o -name example -o -name examples \
  -o -name benchmark -o -name benchmarks -o -name fixture -o -name fixtures -o -name .github -o -name .vscode \
  -o -name .husky \) -exec rm -rf {} +
find "$modules" -type f \( -iname '*.md' -o -iname '*.markdown' -o -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' \
  -o -name '*.d.cts' -o -name '*.html' -o -name '*.png' -o -name '*.jpg' -o -name '*.gif' -o -name '*.svg' \
  -o -name '*.sh' -o -name '.npmignore' -o -name '.eslintrc*' -o -name '.prettierrc*' -o -name '.editorconfig' \
  -o -name '.travis.yml' -o -name '.gitattributes' -o -name '.nycrc*' -o -name '.taprc' \) \
  -not -iname 'licen[cs]e*' -delete
find "$modules" -depth -type d -empty -delete
rm -rf "$modules/.bin" "$modules/.package-lock.json"

chmod -R a-x,a+X "$app"
# The line is emptied rather than deleted so that stack traces keep their line numbers.
find "$app" -type f -exec awk 'FNR == 1 { if (/^#!/) print FILENAME; nextfile }' {} + |
  while IFS= read -r file; do
    case $file in
      *.js | *.mjs | *.cjs) sed -i '1s|^#!.*||' "$file" ;;
      *) chmod 0755 "$file" ;;
    esac
  done
