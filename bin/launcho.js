#!/usr/bin/env node
import {execute} from '@oclif/core'
import {expandTopicAlias} from '../dist/src/cli/topic-alias.js'

await execute({args: expandTopicAlias(process.argv.slice(2)), dir: import.meta.url})
