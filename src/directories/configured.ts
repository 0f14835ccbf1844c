import { ConfigError, formatIssues } from '../config/load.js';
import type { BridgeConfig } from '../config/schema.js';
import { ADDRESS_FIELDS, configuredDirectorySchema, type ConfiguredDirectory } from './definition.js';

/**
 * The directories of the configuration file, each checked against its type's settings. The file's
 * loader knows only that an entry has an id: what a type needs is the directories' own business
 * (each connector's settings live beside it). Throws ConfigError listing every problem, with the
 * paths of the file (`upstreams.<n>.<field>`), as the loader does for every other setting.
 */
export function configuredDirectories(config: BridgeConfig): ConfiguredDirectory[] {
  const problems: string[] = [];
  const directories: ConfiguredDirectory[] = [];
  config.upstreams.forEach((entry, index) => {
    const result = configuredDirectorySchema.safeParse(entry);
    if (!result.success) {
      problems.push(...formatIssues(result.error.issues, ['upstreams', index]));
      return;
    }
    if (config.env === 'production') {
      for (const field of ADDRESS_FIELDS) {
        const value = (result.data as Record<string, unknown>)[field];
        if (typeof value === 'string' && !value.startsWith('https://')) problems.push(`upstreams.${index}.${field}: must be https in production`);
      }
    }
    directories.push(result.data);
  });
  if (problems.length) throw new ConfigError(problems);
  return directories;
}
