export * from './assert.js';
export * from './error-codes.js';
export * from './errors.js';
export * from './config.js';
export * from './logging.js';
export * from './metrics.js';
export * from './kafka-configs.js';
