import type { Clock } from './clock';
import { ACCOUNT } from './ecs';

/**
 * The part of Amazon EC2 an AMI rollout touches: launch templates and their numbered versions.
 * Each version is immutable; a new one is the source version's data with the fields given replaced
 * (CreateLaunchTemplateVersion with SourceVersion), or only the fields given without a source. A
 * group refers to a template by id or name and to a version by number, `$Latest` (the highest
 * number) or `$Default` (the template's default, version 1 until changed); `$Latest` and `$Default`
 * are resolved at each launch.
 */

/** The launch template data the simulation models: what an instance boots. */
export interface LaunchTemplateData {
  imageId?: string;
  instanceType?: string;
}

export interface LaunchTemplateVersion {
  readonly templateId: string;
  readonly templateName: string;
  readonly versionNumber: number;
  readonly description?: string;
  readonly createdAt: number;
  readonly data: Readonly<LaunchTemplateData>;
}

export class LaunchTemplate {
  readonly versions: LaunchTemplateVersion[] = [];
  defaultVersion = 1;

  constructor(
    readonly id: string,
    readonly name: string,
    readonly createdAt: number,
  ) {}

  get latestVersion(): number {
    return this.versions.length;
  }
}

/** How a group (or a refresh's desired configuration) names a template and a version. */
export interface LaunchTemplateSpecification {
  launchTemplateId?: string;
  launchTemplateName?: string;
  /** A version number, `$Latest` or `$Default`; `$Default` when absent. */
  version?: string;
}

/** An EC2 API error, with the code EC2 answers (awsEc2 protocol). */
export class Ec2Error extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class Ec2Model {
  /** Launch templates by id. */
  readonly templates = new Map<string, LaunchTemplate>();
  private created = 0;

  constructor(private readonly clock: Clock) {}

  /** CreateLaunchTemplate: version 1, the default, holds `data`. Ids are counted, drawing on no randomness. */
  createLaunchTemplate(name: string, data: LaunchTemplateData, description?: string): LaunchTemplate {
    if ([...this.templates.values()].some((template) => template.name === name)) {
      throw new Ec2Error(
        'InvalidLaunchTemplateName.AlreadyExistsException',
        `Launch template name already in use.`,
      );
    }
    const id = `lt-0${(++this.created).toString(16).padStart(16, '0')}`;
    const template = new LaunchTemplate(id, name, this.clock.now);
    this.templates.set(id, template);
    this.addVersion(template, { ...data }, description);
    return template;
  }

  /** The template an id or a name refers to (exactly one of them). */
  findTemplate(spec: { launchTemplateId?: string; launchTemplateName?: string }): LaunchTemplate {
    const { launchTemplateId: id, launchTemplateName: name } = spec;
    if ((id === undefined) === (name === undefined)) {
      throw new Ec2Error(
        'InvalidParameterCombination',
        'Specify either the launch template ID or the launch template name, not both.',
      );
    }
    if (id !== undefined) {
      if (!/^lt-[0-9a-f]{17}$/.test(id))
        throw new Ec2Error(
          'InvalidLaunchTemplateId.Malformed',
          `The launch template ID '${id}' is malformed.`,
        );
      const template = this.templates.get(id);
      if (template === undefined)
        throw new Ec2Error(
          'InvalidLaunchTemplateId.NotFound',
          `The specified launch template, with template ID ${id}, does not exist.`,
        );
      return template;
    }
    const template = [...this.templates.values()].find((t) => t.name === name);
    if (template === undefined) {
      throw new Ec2Error(
        'InvalidLaunchTemplateName.NotFoundException',
        `The specified launch template, with template name ${name}, does not exist.`,
      );
    }
    return template;
  }

  /** The version `version` (a number, `$Latest`, `$Default`; `$Default` when absent) names, now. */
  resolve(template: LaunchTemplate, version = '$Default'): LaunchTemplateVersion {
    const number =
      version === '$Latest'
        ? template.latestVersion
        : version === '$Default'
          ? template.defaultVersion
          : /^[1-9]\d*$/.test(version)
            ? Number(version)
            : NaN;
    const found = template.versions[number - 1];
    if (found === undefined) {
      throw new Ec2Error(
        'InvalidLaunchTemplateId.VersionNotFound',
        `Could not find launch template version ${version} for launch template ${template.id}.`,
      );
    }
    return found;
  }

  /** The version a group's specification names, now (`$Latest` and `$Default` move). */
  resolveSpecification(spec: LaunchTemplateSpecification): LaunchTemplateVersion {
    return this.resolve(this.findTemplate(spec), spec.version);
  }

  /**
   * CreateLaunchTemplateVersion: the next number. With a source version, its data with the fields
   * given replaced; without one, only the fields given.
   */
  createLaunchTemplateVersion(input: {
    launchTemplateId?: string;
    launchTemplateName?: string;
    sourceVersion?: string;
    data: LaunchTemplateData;
    description?: string;
  }): LaunchTemplateVersion {
    const template = this.findTemplate(input);
    const source = input.sourceVersion === undefined ? {} : this.resolve(template, input.sourceVersion).data;
    const data: LaunchTemplateData = { ...source };
    if (input.data.imageId !== undefined) data.imageId = input.data.imageId;
    if (input.data.instanceType !== undefined) data.instanceType = input.data.instanceType;
    return this.addVersion(template, data, input.description);
  }

  /** ModifyLaunchTemplate with SetDefaultVersion. */
  setDefaultVersion(
    spec: { launchTemplateId?: string; launchTemplateName?: string },
    version: string,
  ): LaunchTemplate {
    const template = this.findTemplate(spec);
    template.defaultVersion = this.resolve(template, version).versionNumber;
    return template;
  }

  private addVersion(
    template: LaunchTemplate,
    data: LaunchTemplateData,
    description?: string,
  ): LaunchTemplateVersion {
    const version: LaunchTemplateVersion = {
      templateId: template.id,
      templateName: template.name,
      versionNumber: template.versions.length + 1,
      createdAt: this.clock.now,
      data,
      ...(description !== undefined && { description }),
    };
    template.versions.push(version);
    return version;
  }
}

/** Who created templates and versions in the simulated account. */
export const CREATED_BY = `arn:aws:iam::${ACCOUNT}:root`;
