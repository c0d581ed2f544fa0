import { EC2Client } from '@aws-sdk/client-ec2';
import { Ec2Adapter } from '../../shared/aws/ec2';
import { SDK_MAX_ATTEMPTS } from '../../shared/aws/pacer';
import { lambdaDependencies } from '../../shared/drain/lambda-wiring';
import { launchTemplateImages } from '../../shared/launch/drive-launches';
import { createReconcileHandler } from './app';

// Created once per container; the schedule invokes it (see template.yaml, ReconcileFunction). The EC2
// client reads the AMI a held launch's template version names (launch readiness's fallback).
export const handler = createReconcileHandler({
  ...lambdaDependencies('reconciler'),
  imageOf: launchTemplateImages(new Ec2Adapter(new EC2Client({ maxAttempts: SDK_MAX_ATTEMPTS }))),
});
