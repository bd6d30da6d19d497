import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { Context } from 'aws-lambda';

let lambdaClient: LambdaClient | undefined;

/**
 * On AWS: an asynchronous invocation of the running function itself (its ARN is in the context), how a long run
 * (rewards, a rebuild, a heal) continues past one invocation's time.
 */
export async function invokeSelfAsync(payload: unknown, context: Pick<Context, 'invokedFunctionArn'>): Promise<void> {
  lambdaClient ??= new LambdaClient({});
  await lambdaClient.send(
    new InvokeCommand({
      FunctionName: context.invokedFunctionArn,
      InvocationType: 'Event',
      Payload: JSON.stringify(payload),
    }),
  );
}

/** An asynchronous invocation of another function of the stack, by name (the admin API starting a check). */
export async function invokeAsync(functionName: string, payload: unknown): Promise<void> {
  lambdaClient ??= new LambdaClient({});
  await lambdaClient.send(
    new InvokeCommand({ FunctionName: functionName, InvocationType: 'Event', Payload: JSON.stringify(payload) }),
  );
}
