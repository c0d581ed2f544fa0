import { GetParametersCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { type AmiVariant, amiParameterNames } from '../rollout/ami-variants';

/** What AWS recommends for a variant now, as published; the value is not checked here (the decision does). */
export interface RecommendedAmi {
  variant: AmiVariant;
  /** The parameter the id was read from. */
  parameter: string;
  /** The parameter's value; undefined when the parameter does not exist (in this Region, say). */
  imageId?: string;
  /** From the `recommended` JSON, for Amazon Linux variants; absent for Bottlerocket or unreadable JSON. */
  imageName?: string;
}

/** The SSM calls of the AMI watcher. It receives its client. */
export class SsmAdapter {
  constructor(private readonly client: SSMClient) {}

  /** One GetParameters call for the AMI id and, where published, the JSON that names the image. */
  async recommendedAmi(variant: AmiVariant): Promise<RecommendedAmi> {
    const names = amiParameterNames(variant);
    const output = await this.client.send(
      new GetParametersCommand({
        Names: names.metadata === undefined ? [names.imageId] : [names.imageId, names.metadata],
      }),
    );
    const value = (name: string | undefined) =>
      output.Parameters?.find((parameter) => parameter.Name === name)?.Value;
    const imageId = value(names.imageId);
    const imageName = imageNameOf(value(names.metadata));
    return {
      variant,
      parameter: names.imageId,
      ...(imageId !== undefined && { imageId }),
      ...(imageName !== undefined && { imageName }),
    };
  }
}

/** `image_name` of the `recommended` JSON string; nothing when it is absent or not JSON (it only labels logs). */
function imageNameOf(json: string | undefined): string | undefined {
  if (json === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(json);
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const name = (parsed as { image_name?: unknown }).image_name;
    return typeof name === 'string' ? name : undefined;
  } catch {
    return undefined;
  }
}
