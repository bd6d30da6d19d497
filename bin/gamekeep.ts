import { App } from 'aws-cdk-lib';
import { CoreStack } from '../lib/stacks/coreStack.js';

const app = new App();

// `cdk synth -c stage=prod`; env-agnostic: account and region come from the deploy-time credentials.
const stage: unknown = app.node.tryGetContext('stage') ?? 'dev';
if (typeof stage !== 'string' || !/^[a-z][a-z0-9-]{0,19}$/.test(stage)) {
  throw new Error(`Invalid stage context ${JSON.stringify(stage)}: expected lowercase letters, digits and dashes, e.g. dev or prod`);
}

new CoreStack(app, `Gamekeep-${stage}`, {
  stage,
  description: `Gamekeep (${stage}): command queue, command processor and table`,
});
