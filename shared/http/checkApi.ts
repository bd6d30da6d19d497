import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { parseBody, parseQuery, pathParameters } from './input.js';
import type { Caller } from './caller.js';
import { requirePermission } from './operatorRoles.js';
import { checkBody, noQuery, rebuildBody } from './schemas.js';
import { HttpError, json, notFound } from './errors.js';
import { checkReport, isCheckId, openCheck, type CheckDeps } from '../checker/checkRun.js';

type Result = Promise<APIGatewayProxyStructuredResultV2>;

/** POST /v1/admin/checks {sample?, repair?}: opens a consistency check and starts it; 202 {checkId}. */
export async function startConsistencyCheck(
  deps: CheckDeps,
  run: (checkId: string) => Promise<void>,
  event: APIGatewayProxyEventV2,
  caller: Caller,
): Result {
  requirePermission(caller, 'checks.run');
  parseQuery(event, noQuery);
  const body = event.body ? parseBody(event, checkBody) : {};
  const opened = await openCheck(deps, body);
  await run(opened.checkId);
  return json(
    202,
    { checkId: opened.checkId, status: opened.status },
    { location: `/v1/admin/checks/${opened.checkId}` },
  );
}

/** GET /v1/admin/checks/{checkId}: the report so far (`status: running`) or in full (`done`). */
export async function consistencyCheck(deps: CheckDeps, event: APIGatewayProxyEventV2, caller: Caller): Result {
  requirePermission(caller, 'checks.read');
  parseQuery(event, noQuery);
  const checkId = pathParameters(event).checkId ?? '';
  if (!isCheckId(checkId)) throw notFound('CHECK_NOT_FOUND', 'no such check');
  const report = await checkReport(deps, checkId);
  if (!report) throw notFound('CHECK_NOT_FOUND', 'no such check');
  return json(200, report);
}

/**
 * POST /v1/admin/rebuilds {resume?}: rebuilds the read side (every cached view and leaderboard) from the table in
 * the rebuild function, which continues itself until done; 202. Its progress is in the function's log.
 */
export async function startReadSideRebuild(
  start: ((input: { resume?: boolean }) => Promise<void>) | undefined,
  event: APIGatewayProxyEventV2,
  caller: Caller,
): Result {
  requirePermission(caller, 'readSide.rebuild');
  parseQuery(event, noQuery);
  const body = event.body ? parseBody(event, rebuildBody) : {};
  if (!start) throw new HttpError(503, 'REBUILD_UNAVAILABLE', 'no rebuild function is configured here');
  await start(body.resume ? { resume: true } : {});
  return json(202, { status: 'started', resume: body.resume ?? false });
}
