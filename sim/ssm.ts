import { type Clock, isoTime } from './clock';
import { REGION } from './ecs';
import { ECS_OPTIMIZED_AMI_PREFIXES, type EcsAmiVariant } from '../shared/rollout/ami-variants';

/**
 * The SSM parameters an AMI rollout reads: the public parameters under which AWS publishes the
 * recommended ECS-optimized AMIs (aws-semantics §6). Each variant has `<prefix>recommended/image_id`
 * (the AMI id) and `<prefix>recommended` (a JSON string with image_id, image_name, agent version...).
 * A scenario publishes a new AMI with `publishEcsOptimizedAmi`; every put raises the parameter's version.
 */

// The table lives with the watcher that reads it (shared/); the twin publishes its Amazon Linux variants.
export { ECS_OPTIMIZED_AMI_PREFIXES, type EcsAmiVariant };

export interface Parameter {
  readonly name: string;
  readonly value: string;
  readonly version: number;
  readonly lastModified: number;
}

export class SsmParameters {
  private readonly parameters = new Map<string, Parameter>();

  constructor(
    private readonly clock: Clock,
    /** The AMI each variant recommends when the story starts; others get a fixed made-up id. */
    initial: Partial<Record<EcsAmiVariant, string>> = {},
  ) {
    Object.keys(ECS_OPTIMIZED_AMI_PREFIXES).forEach((variant, n) => {
      const imageId = initial[variant as EcsAmiVariant] ?? `ami-0ec50${String(n).padStart(12, '0')}`;
      this.publishEcsOptimizedAmi(variant as EcsAmiVariant, imageId);
    });
  }

  get(name: string): Parameter | undefined {
    return this.parameters.get(name);
  }

  /** PutParameter (overwrite): the next version of the parameter. */
  private put(name: string, value: string): Parameter {
    const parameter = {
      name,
      value,
      version: (this.parameters.get(name)?.version ?? 0) + 1,
      lastModified: this.clock.now,
    };
    this.parameters.set(name, parameter);
    return parameter;
  }

  /** AWS publishes a new recommended AMI for a variant: both its parameters change. */
  publishEcsOptimizedAmi(variant: EcsAmiVariant, imageId: string, agentVersion = '1.88.0'): void {
    const prefix = ECS_OPTIMIZED_AMI_PREFIXES[variant];
    const arch = variant.includes('arm64') ? 'arm64' : 'x86_64';
    const date = isoTime(this.clock.now).slice(0, 10).replace(/-/g, '');
    const os = variant.startsWith('amazon-linux-2023') ? 'Amazon Linux 2023' : 'Amazon Linux 2';
    const imageName = `${variant.startsWith('amazon-linux-2023') ? 'al2023' : 'amzn2'}-ami-ecs-hvm-${date}-${arch}`;
    this.put(`${prefix}recommended/image_id`, imageId);
    this.put(
      `${prefix}recommended`,
      JSON.stringify({
        ecs_agent_version: agentVersion,
        ecs_runtime_version: 'Docker version 25.0.6',
        image_id: imageId,
        image_name: imageName,
        os,
        schema_version: 1,
      }),
    );
  }

  /** A public parameter's ARN: AWS's, without an account. */
  static arn(name: string): string {
    return `arn:aws:ssm:${REGION}::parameter${name}`;
  }
}
