import Router from '@koa/router';
import type { DirectoryCatalogue } from '../../catalogue.js';
import { SamlConnector } from './connector.js';

const directoryId = /^[a-z0-9][a-z0-9-]{0,62}$/;

/**
 * The bridge's SP metadata of each SAML directory, at a stable URL that is also its entity id
 * (`/upstream/<id>/saml/metadata`). Served for every directory the bridge knows, drafts included:
 * the education provider configures their identity provider from it before the first test login.
 */
export function createSamlMetadataRouter(catalogue: DirectoryCatalogue): Router {
  const router = new Router();
  router.get('/upstream/:directoryId/saml/metadata', async (ctx) => {
    const id = ctx.params.directoryId ?? '';
    const entry = directoryId.test(id) ? (await catalogue.all()).find((e) => e.directory.id === id) : undefined;
    const connector = entry?.directory.connector;
    if (!(connector instanceof SamlConnector)) {
      ctx.status = 404;
      ctx.type = 'text/plain';
      ctx.body = 'no SAML directory here';
      return;
    }
    ctx.type = 'application/samlmetadata+xml';
    // Identity providers poll it for our key rollover; an hour's staleness is harmless.
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = connector.spMetadata();
  });
  return router;
}
