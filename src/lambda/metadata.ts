import { createMetadataHandler } from '../handlers/metadata-handler';
import { observability, services } from './runtime';

export const handler = createMetadataHandler(services, observability);
