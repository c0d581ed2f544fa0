import {
  CreateLaunchTemplateVersionCommand,
  DescribeLaunchTemplateVersionsCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';

/** Names a launch template: by id or by name (exactly one, as EC2 wants). */
export interface LaunchTemplateRef {
  launchTemplateId?: string;
  launchTemplateName?: string;
}

/** What the watcher reads of a launch template version. */
export interface LaunchTemplateVersionView {
  launchTemplateId: string;
  versionNumber: number;
  /** An AMI id, or `resolve:ssm:<parameter>`; absent when the version names none. */
  imageId?: string;
  description?: string;
}

/**
 * The EC2 calls of the AMI watcher. It receives its client. A numbered launch template version never
 * changes, so each one is read once per container; `$Latest` and `$Default` are read every time.
 */
export class Ec2Adapter {
  private readonly numbered = new Map<string, LaunchTemplateVersionView>();

  constructor(private readonly client: EC2Client) {}

  /**
   * The versions asked for (numbers, `$Latest`, `$Default`), in one DescribeLaunchTemplateVersions
   * call for those not already known. Answers each version once, by number.
   */
  async versions(ref: LaunchTemplateRef, versions: string[]): Promise<LaunchTemplateVersionView[]> {
    const key = (version: string) => `${ref.launchTemplateId ?? ref.launchTemplateName} ${version}`;
    const known = versions.flatMap((version) => this.numbered.get(key(version)) ?? []);
    const wanted = [...new Set(versions.filter((version) => !this.numbered.has(key(version))))];
    const found: LaunchTemplateVersionView[] = [];
    if (wanted.length > 0) {
      const output = await this.client.send(
        new DescribeLaunchTemplateVersionsCommand({ ...templateRef(ref), Versions: wanted }),
      );
      for (const version of output.LaunchTemplateVersions ?? []) {
        if (version.LaunchTemplateId === undefined || version.VersionNumber === undefined) continue;
        const view: LaunchTemplateVersionView = {
          launchTemplateId: version.LaunchTemplateId,
          versionNumber: version.VersionNumber,
          ...(version.LaunchTemplateData?.ImageId !== undefined && {
            imageId: version.LaunchTemplateData.ImageId,
          }),
          ...(version.VersionDescription !== undefined && { description: version.VersionDescription }),
        };
        this.numbered.set(key(String(view.versionNumber)), view);
        found.push(view);
      }
    }
    const byNumber = new Map([...known, ...found].map((view) => [view.versionNumber, view]));
    return [...byNumber.values()];
  }

  /**
   * CreateLaunchTemplateVersion: `sourceVersion`'s data with only the AMI replaced. Answers the new
   * version's number.
   */
  async createVersionWithImage(
    launchTemplateId: string,
    sourceVersion: number,
    imageId: string,
    description: string,
  ): Promise<number> {
    const output = await this.client.send(
      new CreateLaunchTemplateVersionCommand({
        LaunchTemplateId: launchTemplateId,
        SourceVersion: String(sourceVersion),
        LaunchTemplateData: { ImageId: imageId },
        // EC2 allows 255 characters.
        VersionDescription: description.slice(0, 255),
      }),
    );
    const number = output.LaunchTemplateVersion?.VersionNumber;
    if (number === undefined)
      throw new Error(`CreateLaunchTemplateVersion on ${launchTemplateId} answered no version`);
    return number;
  }
}

function templateRef(ref: LaunchTemplateRef) {
  return ref.launchTemplateId !== undefined
    ? { LaunchTemplateId: ref.launchTemplateId }
    : { LaunchTemplateName: ref.launchTemplateName };
}
