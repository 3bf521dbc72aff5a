export * from './paths.js';
export * from './poll.js';
export * from './command.js';
export * from './node.js';
export * from './tools.js';
export * from './kcat.js';
export * from './segments.js';
export * from './python.js';
