export { Reader } from './reader.js';
export { Writer, ZERO_COPY_THRESHOLD_BYTES } from './writer.js';
export { EMPTY_BUFFER, ZERO_UUID } from './constants.js';
