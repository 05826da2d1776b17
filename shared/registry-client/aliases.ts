/**
 * The alias names the mesh gives a meaning to (DESIGN.md, the registry): the
 * registry checks them, nodes and the recommender follow them, the CLI and
 * `infermesh up` set them. Any other valid alias (e.g. `staging`) is only a name.
 */

/** The version every node serves by default, and the one the recommender follows. */
export const PRODUCTION_ALIAS = 'production';

/** The version that takes `weight` percent of a node's traffic beside production; its weight must be given. */
export const CANARY_ALIAS = 'canary';

/** The aliases an inference node serves: production, and canary for its share of traffic. */
export const SERVED_ALIASES = { production: PRODUCTION_ALIAS, canary: CANARY_ALIAS } as const;
