// What `models push` says about the serving config: where an inherited one
// came from, and how a new one differs from the version it follows.

/**
 * The top-level keys that differ between two serving configs (JSON object
 * texts; '' or '{}' for none), one line each: `maxBatchSize: 32 -> 0`,
 * `+ warmup: [...]`, `- priorityLevels: 2`. Empty when they are the same.
 * Values compare by their JSON, so key order inside nested objects matters
 * only where the JSON text differs.
 */
export function diffServingConfigs(previousJson: string, nextJson: string): string[] {
  const before = parseObject(previousJson);
  const after = parseObject(nextJson);
  const lines: string[] = [];
  for (const key of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
    const a = key in before ? JSON.stringify(before[key]) : undefined;
    const b = key in after ? JSON.stringify(after[key]) : undefined;
    if (a === b) continue;
    if (a === undefined) lines.push(`+ ${key}: ${b}`);
    else if (b === undefined) lines.push(`- ${key}: ${a}`);
    else lines.push(`  ${key}: ${a} -> ${b}`);
  }
  return lines;
}

function parseObject(json: string): Record<string, unknown> {
  if (json.trim() === '') return {};
  const value: unknown = JSON.parse(json);
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}
