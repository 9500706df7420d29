import { metadataServicesFromEnvironment } from '../app/config-environment';
import { createMetadataHandler } from '../handlers/metadata-handler';
import { observability } from './runtime';

/** `GET /.well-known/*`: metadata and the JWKS. Reads the signing key secret; no store. */
export const handler = createMetadataHandler(metadataServicesFromEnvironment(process.env), observability);
