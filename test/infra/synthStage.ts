import { readFileSync } from 'node:fs';
import { App, Stack, type CfnElement } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { expect } from 'vitest';
import { GamekeepStack } from '../../lib/stacks/gamekeepStack.js';
import { stageSettings } from '../../lib/stage.js';

/** The context of cdk.json (feature flags, per-stage settings), so the tested template is the one `cdk synth` produces. */
const cdkContext =
  (
    JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
      context?: Record<string, unknown>;
    }
  ).context ?? {};

export interface SynthesizedStage {
  readonly app: App;
  readonly stack: GamekeepStack;
  readonly template: Template;
}

/**
 * Builds one stage as bin/gamekeep.ts does, with real bundling (esbuild, well under a second per function).
 * Synthesize each stage once per test file and share the result.
 */
export function synthStage(stage: string, context: Record<string, unknown> = {}): SynthesizedStage {
  const app = new App({ context: { ...cdkContext, stage, ...context } });
  const stack = new GamekeepStack(app, `Gamekeep-${stage}`, { settings: stageSettings(app.node) });
  return { app, stack, template: Template.fromStack(stack) };
}

export type Resource = {
  Type: string;
  Properties: Record<string, any>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
  DependsOn?: string[];
};

/** Every resource of `type` whose properties include `props`, as [logicalId, resource]. */
export function all(template: Template, type: string, props: Record<string, unknown> = {}): [string, Resource][] {
  return Object.entries(template.findResources(type, { Properties: Match.objectLike(props) })) as [string, Resource][];
}

/** The one resource of `type` whose properties include `props`. */
export function only(template: Template, type: string, props: Record<string, unknown> = {}): [string, Resource] {
  const found = all(template, type, props);
  expect(found, `exactly one ${type} matching ${JSON.stringify(props)}`).toHaveLength(1);
  return found[0]!;
}

export const arnOf = (logicalId: string) => ({ 'Fn::GetAtt': [logicalId, 'Arn'] });

/** The logical id of a construct's CloudFormation resource as synthesized (overridden ids included). */
export const logicalIdOf = (construct: IConstruct): string => {
  const cfn = (construct.node.defaultChild ?? construct) as CfnElement;
  return Stack.of(cfn).resolve(cfn.logicalId) as string;
};
