import { composeMetadata } from '../app/compose-metadata';
import { createMetadataHandler } from '../handlers/metadata-handler';
import { config, observability, runtime } from './runtime';

/** `GET /.well-known/*`: metadata and the JWKS. Reads the signing key secret; no store. */
export const handler = createMetadataHandler(composeMetadata(config, runtime), observability);
