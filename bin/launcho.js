#!/usr/bin/env node
import {execute} from '@oclif/core'
import {expandTopicAlias} from '../dist/src/cli/topic-alias.js'

// V8's heap flags only count when V8 starts, so `launcho server` re-executes itself with them
// (execve: the same PID, so systemd's MainPID and the harness's child stay right). Node 24 lets
// the young generation grow to 128 MB when allocation is brisk (1000 units starting): with an
// 8 MB semi-space the server's RSS at 1000 processes is about 100 MB lower, and streaming a big
// resource keeps fewer dead chunks alive between scavenges.
const SERVER_V8_FLAGS = ['--max-semi-space-size=8']
if (process.argv[2] === 'server' && typeof process.execve === 'function' && !SERVER_V8_FLAGS.every((flag) => process.execArgv.includes(flag))) {
  process.execve(process.execPath, [process.execPath, ...process.execArgv, ...SERVER_V8_FLAGS, ...process.argv.slice(1)], process.env)
}

await execute({args: expandTopicAlias(process.argv.slice(2)), dir: import.meta.url})
