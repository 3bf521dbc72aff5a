#!/usr/bin/env node
import { run } from './run.js';
import { processIo } from './io.js';

const exitCode = await run(process.argv.slice(2), processIo());
process.exitCode = exitCode;
// Commands close their sockets and timers, so the process normally ends by itself once stdout has drained.
// Should a handle linger anyway, this unref'd timer ends the process without holding it open.
setTimeout(() => process.exit(exitCode), 1000).unref();
