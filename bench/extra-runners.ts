// Extra case runners: load generators and servers beyond the sweep's grpc-js
// client, each adding rows to report.rows in the same run (so their ratios to
// the sweep and to each other hold). To add one (e.g. REST rows through the
// node's HTTP front door), write an ExtraRunner and list it in EXTRA_RUNNERS.
import type { ExtraRunner } from './extra-runner.js';
import { h2loadRunner } from './h2load-runner.js';

/** The extra runners of `npm run bench`, run in this order after the sweep. */
export const EXTRA_RUNNERS: readonly ExtraRunner[] = [h2loadRunner];
