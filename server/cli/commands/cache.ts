import { loadConfig } from '../../config/config.ts';
import { formatSize } from '../../config/size.ts';
import { RunRepository } from '../../queue/runRepository.ts';
import { createArtifactStore } from '../../store/artifactStore.ts';
import { openDatabase } from '../../store/database.ts';
import { createCacheGc } from '../../store/gc.ts';
import { CliError, EXIT_OK } from '../cliError.ts';
import { parseCommandArgs, parseSizeArg } from '../parse.ts';

/**
 * `loraflow cache gc [--max-size SIZE]`: deletes least recently used cache entries and their artifacts until
 * the cache fits. Artifacts of queued and running runs (also those of a running server) are kept.
 */
export async function cacheCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'gc')
    throw new CliError(
      `loraflow cache: unknown subcommand ${sub ? `"${sub}"` : '(none)'}; use: loraflow cache gc [--max-size SIZE]`,
    );
  const { values } = parseCommandArgs(
    'cache gc',
    rest,
    {
      'max-size': { type: 'string' },
      data: { type: 'string' },
      config: { type: 'string' },
      json: { type: 'boolean' },
    },
    false,
  );
  const maxBytes = parseSizeArg('--max-size', values['max-size']);
  const config = loadConfig({
    overrides: {
      ...(values.data ? { dataDir: values.data } : {}),
      ...(values.config ? { configPath: values.config } : {}),
      ...(maxBytes !== undefined ? { cacheMaxBytes: maxBytes } : {}),
    },
  });
  const db = openDatabase(config.dataDir);
  try {
    const store = createArtifactStore(db);
    const gc = createCacheGc(db, store);
    const result = gc.collect({
      maxBytes: config.cache.maxBytes,
      pinned: new RunRepository(db).unfinishedReferences(),
    });
    if (values.json) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
    } else {
      process.stdout.write(
        `cache: ${formatSize(result.beforeBytes)} → ${formatSize(result.afterBytes)} (limit ${formatSize(result.limitBytes)}); ` +
          `freed ${formatSize(result.freedBytes)}: ${result.removedEntries} node results, ${result.removedItems} item results, ` +
          `${result.removedArtifacts} artifacts` +
          (result.keptPinned ? `; kept ${result.keptPinned} artifacts of queued or running runs` : '') +
          '\n',
      );
    }
    return EXIT_OK;
  } finally {
    db.close();
  }
}
