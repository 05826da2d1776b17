/**
 * The line every infermesh process prints on stdout once it listens, e.g.
 * `infermesh inference ready grpc=127.0.0.1:40123 metrics=127.0.0.1:9464`.
 * People read it; `infermesh up` and the tests parse it (see {@link parseAnnouncement}),
 * which is why port 0 works everywhere.
 */
export function formatAnnouncement(service: string, endpoints: Record<string, string>): string {
  const parts = Object.entries(endpoints).map(([k, v]) => `${k}=${v}`);
  return `infermesh ${service} ready ${parts.join(' ')}`;
}

/** Prints the announcement line on stdout. Only process entry points call this. */
export function announce(service: string, endpoints: Record<string, string>): void {
  process.stdout.write(formatAnnouncement(service, endpoints) + '\n');
}

/** Parses an announcement line; undefined when the line is something else. */
export function parseAnnouncement(line: string): { service: string; endpoints: Record<string, string> } | undefined {
  const m = /^infermesh (\S+) ready((?: \S+=\S+)*)\s*$/.exec(line.trim());
  if (!m) return undefined;
  const endpoints: Record<string, string> = {};
  for (const part of m[2]!.trim().split(' ').filter(Boolean)) {
    const eq = part.indexOf('=');
    endpoints[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return { service: m[1]!, endpoints };
}
