export { run, findCommand, commands, mainHelp, VERSION } from './run.js';
export { compileFormat, renderJson, DEFAULT_FORMAT, type RecordRenderer } from './format.js';
export { parseCommandArgs, parseKeyValues, parseKeyValueList, parseInteger, parseAcks, DEFAULT_BOOTSTRAP_SERVER, type ParsedArgs } from './args.js';
export { UsageError, describeError, EXIT_OK, EXIT_FAILURE, EXIT_USAGE } from './cli-error.js';
export { lineToMessage } from './commands/produce.js';
export { parseOffsetOption } from './commands/consume.js';
export type { Io } from './io.js';
export type { Command } from './commands/command.js';
