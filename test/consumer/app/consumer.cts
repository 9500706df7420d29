// A CommonJS consumer (what `cdk init app --language typescript` writes and ts-node runs).
import { App, Stack } from 'aws-cdk-lib';
import { TollgateAuthorizer, TollgateService } from 'tollgate/cdk';

const app = new App();
const stack = new Stack(app, 'Consumer');
const service = new TollgateService(stack, 'Tollgate', { configFile: 'tollgate.config.json' });
export const authorizer = new TollgateAuthorizer(stack, 'Authorizer', { issuer: service.issuer });
