import type { Writable } from 'node:stream';
import type { Context } from 'aws-lambda';
import type { HttpEvent } from '../http/api-event';
import type { ResponseHead, StreamingHttpFunction } from '../http/response-stream';

/**
 * What the Lambda Node.js managed runtime puts in the global `awslambda`
 * (and nothing else does): response streaming for `InvokeWithResponseStream`,
 * which API Gateway uses for an integration with `responseTransferMode: STREAM`.
 */
interface LambdaStreamingRuntime {
  streamifyResponse(handler: (event: HttpEvent, responseStream: Writable, context: Context) => Promise<void>): unknown;
  /**
   * Sets the stream's content type to API Gateway's HTTP integration response
   * (`application/vnd.awslambda.http-integration-response`) and, on the first
   * write, sends the prelude: the JSON `{ statusCode, headers,
   * multiValueHeaders }` and 8 null bytes; the body follows as written.
   */
  HttpResponseStream: { from(stream: Writable, prelude: ResponseHead): Writable };
}

/**
 * A streaming handler as a Lambda response-streaming entry point: the sink's
 * head becomes the API Gateway prelude (`HttpResponseStream.from`), the body
 * goes to the response stream as written (`writeResult` makes the first,
 * empty write at once, so even a body-less answer sends its prelude). A
 * handler that rejects after the head ends the stream with an error, which
 * API Gateway passes on as a response cut short.
 */
export function streamingLambda(handler: StreamingHttpFunction): unknown {
  const runtime = (globalThis as unknown as { awslambda?: LambdaStreamingRuntime }).awslambda;
  if (!runtime) throw new Error('response streaming needs the Lambda Node.js managed runtime (the global awslambda)');
  return runtime.streamifyResponse((event, responseStream, context) =>
    handler(event, { open: (head) => runtime.HttpResponseStream.from(responseStream, head) }, context),
  );
}
