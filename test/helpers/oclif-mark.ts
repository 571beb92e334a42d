/**
 * Loaded with `node --import` before the CLI: appends a line to $LAUNCHO_TEST_OCLIF_MARK when
 * anything resolves @oclif/core (`@oclif/core COMMAND`), so a test can tell that a command ran on
 * its quick path.
 */
import {appendFileSync} from 'node:fs'
import {registerHooks} from 'node:module'

const mark = process.env.LAUNCHO_TEST_OCLIF_MARK
registerHooks({
  resolve(specifier, context, next) {
    if (mark && specifier === '@oclif/core') appendFileSync(mark, `${specifier} ${process.argv[2] ?? ''}\n`)
    return next(specifier, context)
  },
})
