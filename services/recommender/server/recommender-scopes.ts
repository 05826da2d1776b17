import { scopeTable, type MethodScopes } from '../../../shared/auth/index.js';

/** What each infermesh.recommender.v1.Recommender method requires when the recommender enforces tokens. */
export const RECOMMENDER_METHOD_SCOPES: MethodScopes = {
  Recommend: 'infer',
  RecommendStream: 'infer',
  SimilarItems: 'infer',
  ModelInfo: 'models:read',
  RecordInteractions: 'feedback:write',
  UpsertItems: 'models:write',
  Train: 'models:write',
};

/** The scope table of the recommender's gRPC service. */
export const RECOMMENDER_SCOPE_TABLE = scopeTable('infermesh.recommender.v1.Recommender', RECOMMENDER_METHOD_SCOPES);
