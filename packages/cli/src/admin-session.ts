import { Admin } from '@fluxo/client';
import { stringOption, type ParsedArgs } from './args.js';

/** Runs `fn` with an Admin connected to the command's --bootstrap-server and always closes it. */
export async function withAdmin<T>(args: ParsedArgs, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = new Admin({ brokers: stringOption(args, 'bootstrap-server')!, clientId: 'fluxo-cli', retry: { retries: 3 } });
  try {
    await admin.connect();
    return await fn(admin);
  } finally {
    await admin.close();
  }
}
