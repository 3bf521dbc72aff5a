import { errorName, isRetriable, type ErrorCodeValue } from './error-codes.js';

/** Base of every error Fluxo raises on purpose; `code` is the Kafka error code sent on the wire. */
export class FluxoError extends Error {
  override readonly name: string = 'FluxoError';
  constructor(
    message: string,
    readonly code: ErrorCodeValue | number = -1,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** An error that maps one-to-one to a Kafka protocol error code. */
export class KafkaProtocolError extends FluxoError {
  override readonly name: string = 'KafkaProtocolError';
  readonly type: string;
  readonly retriable: boolean;
  constructor(code: number, message?: string, options?: { cause?: unknown }) {
    super(message ?? errorName(code), code, options);
    this.type = errorName(code);
    this.retriable = isRetriable(code);
  }
}

/** Bytes on the wire or on disk that do not parse: a malformed frame, a truncated field, a bad length. */
export class DecodeError extends FluxoError {
  override readonly name: string = 'DecodeError';
}

/** A configuration value that is missing, of the wrong type or out of range; names the key. */
export class ConfigError extends FluxoError {
  override readonly name: string = 'ConfigError';
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(`invalid config ${key}: ${message}`, 40 /* INVALID_CONFIG */);
  }
}

/** On-disk data that fails verification (CRC mismatch, impossible offsets). */
export class CorruptDataError extends FluxoError {
  override readonly name: string = 'CorruptDataError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 2 /* CORRUPT_MESSAGE */, options);
  }
}
