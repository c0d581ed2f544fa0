/**
 * Where AWS publishes the recommended ECS-optimized AMI of each variant: public SSM parameters
 * (aws-semantics §6). The AMI watcher reads them, the template grants reading exactly them, and the
 * local twin (sim/ssm.ts) publishes the Amazon Linux ones.
 */

/**
 * Amazon Linux variants and their parameter prefixes ([ECS-DG] retrieve-ecs-optimized_AMI.md). Each has
 * `<prefix>recommended/image_id` (the AMI id) and `<prefix>recommended` (a JSON string with image_id,
 * image_name, the agent version...). The key is the path between `/aws/service/ecs/optimized-ami/`
 * and `/recommended`, which template.yaml relies on to build the parameter ARNs.
 */
export const ECS_OPTIMIZED_AMI_PREFIXES = {
  'amazon-linux-2023': '/aws/service/ecs/optimized-ami/amazon-linux-2023/',
  'amazon-linux-2023/arm64': '/aws/service/ecs/optimized-ami/amazon-linux-2023/arm64/',
  'amazon-linux-2023/inf': '/aws/service/ecs/optimized-ami/amazon-linux-2023/inf/',
  'amazon-linux-2': '/aws/service/ecs/optimized-ami/amazon-linux-2/',
  'amazon-linux-2/kernel-5.10': '/aws/service/ecs/optimized-ami/amazon-linux-2/kernel-5.10/',
  'amazon-linux-2/arm64': '/aws/service/ecs/optimized-ami/amazon-linux-2/arm64/',
  'amazon-linux-2/kernel-5.10/arm64': '/aws/service/ecs/optimized-ami/amazon-linux-2/kernel-5.10/arm64/',
  'amazon-linux-2/gpu': '/aws/service/ecs/optimized-ami/amazon-linux-2/gpu/',
  'amazon-linux-2/inf': '/aws/service/ecs/optimized-ami/amazon-linux-2/inf/',
} as const;
export type EcsAmiVariant = keyof typeof ECS_OPTIMIZED_AMI_PREFIXES;

/**
 * Bottlerocket's ECS variant `aws-ecs-2` ([ECS-DG] ecs-bottlerocket-retrieve-ami.md): only the AMI id is
 * published under `latest/`, no JSON with an image name.
 */
export const BOTTLEROCKET_AMI_PARAMETERS = {
  bottlerocket: '/aws/service/bottlerocket/aws-ecs-2/x86_64/latest/image_id',
  'bottlerocket/arm64': '/aws/service/bottlerocket/aws-ecs-2/arm64/latest/image_id',
} as const;
export type BottlerocketAmiVariant = keyof typeof BOTTLEROCKET_AMI_PARAMETERS;

export type AmiVariant = EcsAmiVariant | BottlerocketAmiVariant;

/** Every variant the watcher can follow, Amazon Linux 2023 (the default) first. */
export const AMI_VARIANTS = [
  ...Object.keys(ECS_OPTIMIZED_AMI_PREFIXES),
  ...Object.keys(BOTTLEROCKET_AMI_PARAMETERS),
] as [AmiVariant, ...AmiVariant[]];

/** The parameters of a variant: the AMI id, and the JSON that also names the image when there is one. */
export interface AmiParameterNames {
  imageId: string;
  metadata?: string;
}

export function amiParameterNames(variant: AmiVariant): AmiParameterNames {
  if (variant in BOTTLEROCKET_AMI_PARAMETERS)
    return { imageId: BOTTLEROCKET_AMI_PARAMETERS[variant as BottlerocketAmiVariant] };
  const prefix = ECS_OPTIMIZED_AMI_PREFIXES[variant as EcsAmiVariant];
  return { imageId: `${prefix}recommended/image_id`, metadata: `${prefix}recommended` };
}
