import { EC2Client } from '@aws-sdk/client-ec2';
import { Ec2Adapter } from '../../shared/aws/ec2';
import { SDK_MAX_ATTEMPTS } from '../../shared/aws/pacer';
import { lambdaDependencies } from '../../shared/drain/lambda-wiring';
import { launchTemplateImages } from '../../shared/launch/drive-launches';
import { createLaunchReadinessHandler } from './app';

// Created once per container; the launch queue invokes it (see template.yaml, LaunchReadinessFunction).
// The EC2 client reads the AMI each new instance's launch template version names.
export const handler = createLaunchReadinessHandler({
  ...lambdaDependencies('launch'),
  imageOf: launchTemplateImages(new Ec2Adapter(new EC2Client({ maxAttempts: SDK_MAX_ATTEMPTS }))),
});
