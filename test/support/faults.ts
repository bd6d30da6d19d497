import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface FaultContext {
  readonly commandName: string;
  readonly input: Record<string, unknown>;
}

/**
 * Wraps a REAL client: before a request leaves, `decide` may return an error to throw instead (a crash before
 * the commit, a throttle, a poisoned item). Everything else reaches DynamoDB Local unchanged.
 */
export function injectFaults(
  client: DynamoDBDocumentClient,
  decide: (ctx: FaultContext) => Error | undefined,
): DynamoDBDocumentClient {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const fault = decide({ commandName: String(context.commandName), input: args.input as Record<string, unknown> });
      if (fault) throw fault;
      return next(args);
    },
    { step: 'initialize', name: 'gamekeepFaultInjection' },
  );
  return client;
}

/** True when a TransactWriteItems input writes a command record for `commandId`. */
export function writesCommand(input: Record<string, unknown>, commandId: string): boolean {
  return JSON.stringify(input).includes(`C#${commandId}`);
}
