import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { GamekeepStack } from '../lib/stacks/gamekeepStack.js';
import { stageSettings } from '../lib/stage.js';

const app = new App();

// `cdk synth -c stage=prod`; env-agnostic: account and region come from the deploy-time credentials, no lookups.
const settings = stageSettings(app.node);

new GamekeepStack(app, `Gamekeep-${settings.stage}`, {
  settings,
  description: `Gamekeep (${settings.stage}): command pipeline, table, cache, APIs, schedules, backup and alarms`,
});

// cdk-nag v3 is a policy-validation plugin: synthesis fails on any finding that is not acknowledged with a reason.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
