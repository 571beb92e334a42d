// Writes /usr/share/doc/launcho/copyright (Debian machine-readable format) for a staged
// /usr/lib/launcho: launcho itself, the bundled Node.js runtime with its LICENSE, and one paragraph
// per npm package with that package's own license text. The packages' license files are moved into
// it (removed from node_modules), as Debian collects all copyright information in one file.
// Usage: node copyright.mjs OUTPUT_FILE STAGED_APP_DIR NODE_LICENSE_FILE
import {readFileSync, readdirSync, existsSync, rmSync, writeFileSync} from 'node:fs'
import {join, relative} from 'node:path'

const [output, app, nodeLicense] = process.argv.slice(2)
if (!output || !app || !nodeLicense) throw new Error('usage: node copyright.mjs OUTPUT_FILE STAGED_APP_DIR NODE_LICENSE_FILE')
const licenseFile = /^(licen[cs]e|copying|copyrightnotice)([.-](md|txt|mit|apache2?|bsd))*$/i
const moved = []

/** Full Apache-2.0 texts become a pointer to Debian's copy, as Debian policy asks. */
const commonLicenses = (text) =>
  text.replace(
    /Apache License\s+Version 2\.0, January 2004[\s\S]{0,15000}?END OF TERMS AND CONDITIONS/g,
    'The Apache License, Version 2.0: on Debian systems, see /usr/share/common-licenses/Apache-2.0.',
  )

/** A DEP-5 field body: continuation lines indented by one space, empty lines as " .". */
const body = (text) =>
  text
    .replace(/\r\n?/g, '\n')
    .trim()
    .split('\n')
    .map((line) => (line.trim() === '' ? ' .' : ` ${line.replace(/\t/g, '    ').trimEnd()}`))
    .join('\n')

function packagesIn(dir) {
  const found = []
  if (!existsSync(dir)) return found
  for (const entry of readdirSync(dir, {withFileTypes: true})) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue
    const path = join(dir, entry.name)
    if (entry.name.startsWith('@')) {
      found.push(...packagesIn(path))
      continue
    }
    if (existsSync(join(path, 'package.json'))) found.push(path, ...packagesIn(join(path, 'node_modules')))
  }
  return found
}

function licenseName(manifest) {
  const license = manifest.license ?? manifest.licenses
  const names = (Array.isArray(license) ? license : [license]).map((l) => (typeof l === 'object' && l ? l.type : l)).filter(Boolean)
  // DEP-5 calls the MIT license "Expat".
  return names.length ? names.join(' or ').replace(/\bMIT\b/g, 'Expat') : 'unknown'
}

function licenseText(dir) {
  const files = readdirSync(dir).filter((name) => licenseFile.test(name)).sort()
  moved.push(...files.map((name) => join(dir, name)))
  return files.length ? files.map((name) => readFileSync(join(dir, name), 'utf8').trim()).join('\n\n') : undefined
}

const launcho = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8'))
const expat = `Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
associated documentation files (the "Software"), to deal in the Software without restriction,
including without limitation the rights to use, copy, modify, merge, publish, distribute,
sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT
NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES
OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN
CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.`

const paragraphs = [
  `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: launcho`,
  `Files: *
Copyright: launcho maintainers
License: ${licenseName(launcho)}`,
  `Files: usr/lib/launcho/node
Copyright: Node.js contributors and the authors of the software built into it
License: Node.js
Comment: The Node.js runtime launcho runs on. Its license, with those of the software built into
 it (V8, OpenSSL, ICU, libuv, zlib and others), follows verbatim.
 .
${body(commonLicenses(readFileSync(nodeLicense, 'utf8')))}`,
]

for (const dir of packagesIn(join(app, 'node_modules')).sort()) {
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
  const text = licenseText(dir)
  paragraphs.push(`Files: ${relative(join(app, '..', '..', '..'), dir)}/*
Copyright: the authors of ${manifest.name} ${manifest.version}
License: ${licenseName(manifest)}
${text ? body(commonLicenses(text)) : ' The package ships no license text; its package.json declares the license above.'}`)
}

paragraphs.push(`License: Expat
${body(expat)}`)
writeFileSync(output, `${paragraphs.join('\n\n')}\n`)
for (const file of moved) rmSync(file)
