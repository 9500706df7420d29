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
    const result = await handler(message.event, context);
    process.send({ id: message.id, result: result === undefined ? null : result });
  } catch (error) {
    process.send({ id: message.id, error: describe(error) });
  }
});
