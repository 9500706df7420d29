// Runs one Lambda bundle the way the Node.js runtime does, in its own process:
// the handler setting "<file>.<export>" names <task root>/<file>.mjs (or .js,
// .cjs) and its export, the module is loaded once (the cold start: init errors
// are reported, not swallowed), then each event received over IPC is handed to
// the handler with a Lambda-like context and the result sent back.
// Plain JavaScript on purpose: nothing between the bundle and Node.
import { existsSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [taskRoot, handlerSetting] = process.argv.slice(2);
const dot = handlerSetting.lastIndexOf('.');
const file = handlerSetting.slice(0, dot);
const exportName = handlerSetting.slice(dot + 1);
const timeoutMs = Number(process.env.AWS_LAMBDA_FUNCTION_TIMEOUT ?? '10') * 1000;

function describe(error) {
  return { name: error?.name ?? 'Error', message: String(error?.message ?? error), stack: String(error?.stack ?? '') };
}

// The managed runtime's response streaming (the global `awslambda`), as API Gateway reads it: a streamified
// handler gets a writable stream; HttpResponseStream.from sends the JSON prelude and 8 NUL bytes on the first
// write (no write, no prelude). The runner turns the framed stream back into a result with a base64 body.
const STREAMING = Symbol('streaming');
globalThis.awslambda = {
  streamifyResponse(streamed) {
    streamed[STREAMING] = true;
    return streamed;
  },
  HttpResponseStream: {
    from(stream, prelude) {
      const write = stream.write.bind(stream);
      let first = true;
      stream.write = (chunk, ...rest) => {
        if (first) {
          first = false;
          write(JSON.stringify(prelude));
          write(new Uint8Array(8));
        }
        return write(chunk, ...rest);
      };
      return stream;
    },
  },
};

async function invokeStreaming(streamed, event, context) {
  const { Writable } = await import('node:stream');
  const chunks = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      chunks.push(Buffer.from(chunk));
      callback();
    },
  });
  await streamed(event, stream, context);
  if (!stream.writableFinished) await new Promise((resolve) => stream.once('finish', resolve));
  const framed = Buffer.concat(chunks);
  const delimiter = framed.indexOf(Buffer.alloc(8));
  if (delimiter < 0) throw new Error('streamed response without the API Gateway prelude (an API Gateway 502)');
  const prelude = JSON.parse(framed.subarray(0, delimiter).toString('utf8'));
  return { ...prelude, body: framed.subarray(delimiter + 8).toString('base64'), isBase64Encoded: true };
}

let handler;
try {
  const path = ['.mjs', '.js', '.cjs'].map((extension) => join(taskRoot, file + extension)).find((candidate) => existsSync(candidate));
  if (!path) throw new Error(`Cannot find module '${file}' in ${taskRoot}`);
  const module = await import(pathToFileURL(path).href);
  handler = module[exportName];
  if (typeof handler !== 'function') throw new Error(`${handlerSetting} is undefined or not exported`);
} catch (error) {
  process.send({ type: 'init-error', error: describe(error) });
  process.exit(1);
}

process.send({ type: 'ready', node: process.version });
process.on('message', async (message) => {
  const requestId = randomUUID();
  const deadline = Date.now() + timeoutMs;
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${process.env.AWS_REGION}:123456789012:function:${process.env.AWS_LAMBDA_FUNCTION_NAME}`,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${process.env.AWS_LAMBDA_FUNCTION_NAME}`,
    logStreamName: 'artifact-test',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
  try {
    const result = handler[STREAMING] ? await invokeStreaming(handler, message.event, context) : await handler(message.event, context);
    process.send({ id: message.id, result: result === undefined ? null : result });
  } catch (error) {
    process.send({ id: message.id, error: describe(error) });
  }
});
