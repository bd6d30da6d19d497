/**
 * The way most Lambda users would build the write path today, for comparison in `bench:write`: Powertools'
 * idempotency utility (DynamoDB persistence: an in-progress record, then a completed one) around a
 * conditional update of the player's state, processed by Powertools' FIFO batch processor one record at a
 * time. It runs the same decider, but keeps no event log and no claims, so it does less work than Gamekeep.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, BatchGetCommand, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { SqsFifoPartialProcessorAsync, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import type { CommandEnvelope } from '../../shared/engine/envelope.js';
import { player, type PlayerState } from '../../shared/domain/player/index.js';
import { STATE_SK, entityPk } from '../../shared/persistence/tableLayout.js';

export interface BaselineStats {
  applied: number;
  rejected: number;
  writeRequests: number;
  billedWriteCapacity: number;
  latenciesMs: number[];
}

export function createBaselineHandler(options: {
  endpoint: string;
  region: string;
  tableName: string;
  idempotencyTableName: string;
}) {
  const stats: BaselineStats = { applied: 0, rejected: 0, writeRequests: 0, billedWriteCapacity: 0, latenciesMs: [] };
  const client = new DynamoDBClient({
    region: options.region,
    endpoint: options.endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  // Count every write request either side sends: the idempotency records and the state updates.
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = String(context.commandName);
      if (/^(Put|Update|Delete)Item|TransactWrite/.test(name)) {
        stats.writeRequests++;
        const input = args.input as { TransactItems?: unknown[] };
        stats.billedWriteCapacity += input.TransactItems ? input.TransactItems.length * 2 : 1;
      }
      return next(args);
    },
    { step: 'initialize', name: 'countWrites' },
  );
  const db = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  const persistenceStore = new DynamoDBPersistenceLayer({
    tableName: options.idempotencyTableName,
    awsSdkV3Client: client,
  });
  const config = new IdempotencyConfig({ eventKeyJmesPath: 'commandId', expiresAfterSeconds: 14 * 86_400 });

  const applyOnce = makeIdempotent(async (envelope: CommandEnvelope) => applyWithConditionalUpdate(envelope), {
    persistenceStore,
    config,
  });

  async function applyWithConditionalUpdate(envelope: CommandEnvelope): Promise<{ status: string; code?: string }> {
    const parsed = player.commandSchema.safeParse(envelope.command);
    if (!parsed.success) return { status: 'rejected', code: 'INVALID_COMMAND' };
    const command = parsed.data;
    const ids = [envelope.entityId, ...(player.related?.(command, envelope.entityId) ?? [])];
    for (let attempt = 1; ; attempt++) {
      const out = await db.send(
        new BatchGetCommand({
          RequestItems: {
            [options.tableName]: {
              Keys: ids.map((id) => ({ pk: entityPk('P', id), sk: STATE_SK })),
              ConsistentRead: true,
            },
          },
        }),
      );
      const found = new Map(
        (out.Responses?.[options.tableName] ?? []).map((i) => [
          i.pk as string,
          i as { state: PlayerState; version: number },
        ]),
      );
      const current = (id: string) => found.get(entityPk('P', id)) ?? { state: player.initialState(), version: 0 };
      const decision = player.decide(command, current(envelope.entityId).state, {
        now: envelope.issuedAt,
        commandId: envelope.commandId,
        entityId: envelope.entityId,
        config: player.config,
        related: Object.fromEntries(ids.slice(1).map((id) => [id, current(id).state])),
      });
      if (decision.outcome === 'rejected') return { status: 'rejected', code: decision.code };
      const puts = [[envelope.entityId, decision.events] as const, ...Object.entries(decision.related)].map(
        ([id, events]) => {
          const { state, version } = current(id);
          return {
            TableName: options.tableName,
            Item: {
              pk: entityPk('P', id),
              sk: STATE_SK,
              version: version + 1,
              state: events.reduce(player.evolve, state),
            },
            ...(version === 0
              ? { ConditionExpression: 'attribute_not_exists(pk)' }
              : { ConditionExpression: 'version = :v', ExpressionAttributeValues: { ':v': version } }),
          };
        },
      );
      try {
        if (puts.length === 1) await db.send(new PutCommand(puts[0]!));
        else await db.send(new TransactWriteCommand({ TransactItems: puts.map((Put) => ({ Put })) }));
        return { status: 'applied' };
      } catch (error) {
        const conflict =
          error instanceof ConditionalCheckFailedException || error instanceof TransactionCanceledException;
        if (!conflict || attempt >= 8) throw error;
      }
    }
  }

  const handler = async (event: SQSEvent, context: Context) => {
    config.registerLambdaContext(context);
    return processPartialResponse(
      event,
      async (record: SQSRecord) => {
        const result = await applyOnce(JSON.parse(record.body) as CommandEnvelope);
        if (result.status === 'applied') stats.applied++;
        else stats.rejected++;
        stats.latenciesMs.push(Date.now() - Number(record.attributes.SentTimestamp));
      },
      new SqsFifoPartialProcessorAsync(),
      { context, skipGroupOnError: true },
    );
  };
  return { handler, stats };
}
