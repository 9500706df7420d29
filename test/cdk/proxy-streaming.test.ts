import { synthTollgate, type SynthResult } from './synth-tollgate';
import { FULL_CONFIG } from './test-configs';

/**
 * The proxy streams its answers (issue 14): API Gateway invokes its function
 * with `InvokeWithResponseStream` (`responseTransferMode: STREAM`), the
 * function lives as long as a stream may, and every other route stays
 * buffered.
 */
describe('Tollgate stack: the streamed proxy', () => {
  let full: SynthResult;

  beforeAll(() => {
    full = synthTollgate({ config: FULL_CONFIG });
  });

  const integrationsByPath = () => {
    const resources = full.template.findResources('AWS::ApiGateway::Resource');
    const methods = Object.values(full.template.findResources('AWS::ApiGateway::Method'));
    return methods.map((method) => {
      const resourceRef = (method.Properties.ResourceId as { Ref?: string }).Ref;
      return { pathPart: resourceRef ? resources[resourceRef]?.Properties.PathPart : '/', integration: method.Properties.Integration as Record<string, unknown> };
    });
  };

  it('streams the proxy route: STREAM transfer mode on the response-streaming invocation of the proxy function', () => {
    const proxy = integrationsByPath().filter(({ pathPart }) => pathPart === '{proxy+}');
    expect(proxy.length).toBeGreaterThan(0);
    for (const { integration } of proxy) {
      expect(integration).toMatchObject({ Type: 'AWS_PROXY', ResponseTransferMode: 'STREAM' });
      expect(JSON.stringify(integration.Uri)).toContain('/response-streaming-invocations');
    }
  });

  it('keeps every other route buffered', () => {
    const others = integrationsByPath().filter(({ pathPart, integration }) => pathPart !== '{proxy+}' && integration?.Type === 'AWS_PROXY');
    expect(others.length).toBeGreaterThan(3);
    for (const { integration } of others) {
      expect(integration.ResponseTransferMode ?? 'BUFFERED').toBe('BUFFERED');
      expect(JSON.stringify(integration.Uri)).not.toContain('response-streaming-invocations');
    }
  });

  it('gives the proxy function the 15 minutes a stream may last', () => {
    const proxyFn = full.stack.functions.functions.proxy!;
    const id = full.stack.getLogicalId(proxyFn.fn.node.defaultChild as never);
    expect(full.template.findResources('AWS::Lambda::Function')[id]!.Properties.Timeout).toBe(900);
  });
});
