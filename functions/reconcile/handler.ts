import { SDK_MAX_ATTEMPTS } from '../../shared/aws/pacer';
import { lambdaDependencies } from '../../shared/drain/lambda-wiring';
import { launchTemplateImages } from '../../shared/launch/drive-launches';
import { once } from '../../shared/once';
import { createReconcileHandler } from './app';

// The EC2 client reads the AMI a held launch's template version names (launch readiness's fallback),
// which few runs of the reconciler have. It is the SDK's largest client (1 MB of the bundle, most of its
// load time): loaded on the first such run, once per container, not at every cold start.
const images = once(async () => {
  const [{ EC2Client }, { Ec2Adapter }] = await Promise.all([
    import('@aws-sdk/client-ec2'),
    import('../../shared/aws/ec2'),
  ]);
  return launchTemplateImages(new Ec2Adapter(new EC2Client({ maxAttempts: SDK_MAX_ATTEMPTS })));
});

// Created once per container; the schedule invokes it (see template.yaml, ReconcileFunction).
export const handler = createReconcileHandler({
  ...lambdaDependencies('reconciler'),
  imageOf: async (launchTemplate) => (await images())(launchTemplate),
});
