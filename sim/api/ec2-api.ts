import { element, escape } from './xml';
import { isoTime } from '../clock';
import { CREATED_BY, Ec2Error, type Ec2Model, type LaunchTemplate, type LaunchTemplateVersion } from '../ec2';

/**
 * The EC2 operations on launch templates that an AMI rollout makes, in the EC2 query protocol
 * (awsEc2): form-encoded `Action` in; XML out whose elements are lowerCamelCase, lists of `<item>`,
 * no Result wrapper, and errors as `Response/Errors/Error/Code`.
 */

const NAMESPACE = 'http://ec2.amazonaws.com/doc/2016-11-15/';

type Params = URLSearchParams;

export const EC2_OPERATIONS: Record<string, (ec2: Ec2Model, params: Params) => string> = {
  CreateLaunchTemplate: (ec2, params) => {
    const template = ec2.createLaunchTemplate(
      required(params, 'LaunchTemplateName'),
      templateData(params),
      params.get('VersionDescription') ?? undefined,
    );
    return `<launchTemplate>${templateXml(template)}</launchTemplate>`;
  },
  CreateLaunchTemplateVersion: (ec2, params) => {
    const version = ec2.createLaunchTemplateVersion({
      ...templateRef(params),
      sourceVersion: params.get('SourceVersion') ?? undefined,
      data: templateData(params),
      description: params.get('VersionDescription') ?? undefined,
    });
    const template = ec2.findTemplate({ launchTemplateId: version.templateId });
    return `<launchTemplateVersion>${versionXml(template, version)}</launchTemplateVersion>`;
  },
  DescribeLaunchTemplateVersions: (ec2, params) => {
    const template = ec2.findTemplate(templateRef(params));
    const wanted = numbered(params, 'LaunchTemplateVersion');
    const versions =
      wanted.length === 0 ? template.versions : wanted.map((version) => ec2.resolve(template, version));
    const items = versions.map((version) => `<item>${versionXml(template, version)}</item>`).join('');
    return `<launchTemplateVersionSet>${items}</launchTemplateVersionSet>`;
  },
  DescribeLaunchTemplates: (ec2, params) => {
    const ids = numbered(params, 'LaunchTemplateId');
    const names = numbered(params, 'LaunchTemplateName');
    const templates =
      ids.length + names.length === 0
        ? [...ec2.templates.values()]
        : [
            ...ids.map((id) => ec2.findTemplate({ launchTemplateId: id })),
            ...names.map((name) => ec2.findTemplate({ launchTemplateName: name })),
          ];
    const items = templates.map((template) => `<item>${templateXml(template)}</item>`).join('');
    return `<launchTemplates>${items}</launchTemplates>`;
  },
  ModifyLaunchTemplate: (ec2, params) => {
    const template = ec2.setDefaultVersion(templateRef(params), required(params, 'SetDefaultVersion'));
    return `<launchTemplate>${templateXml(template)}</launchTemplate>`;
  },
};

export function ec2Response(operation: string, result: string, requestId: string): string {
  return `<${operation}Response xmlns="${NAMESPACE}"><requestId>${requestId}</requestId>${result}</${operation}Response>`;
}

export function ec2Error(code: string, message: string, requestId: string): string {
  return `<Response><Errors><Error><Code>${escape(code)}</Code><Message>${escape(message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`;
}

/** Which EC2 throttling bucket an operation draws from: describes are non-mutating, the rest mutating. */
export function ec2Bucket(operation: string): 'ec2-non-mutating' | 'ec2-mutating' {
  return operation.startsWith('Describe') ? 'ec2-non-mutating' : 'ec2-mutating';
}

function required(params: Params, name: string): string {
  const value = params.get(name);
  if (value === null || value === '')
    throw new Ec2Error('MissingParameter', `The request must contain the parameter ${name}`);
  return value;
}

function templateRef(params: Params): { launchTemplateId?: string; launchTemplateName?: string } {
  return {
    ...(params.has('LaunchTemplateId') && { launchTemplateId: params.get('LaunchTemplateId') ?? '' }),
    ...(params.has('LaunchTemplateName') && { launchTemplateName: params.get('LaunchTemplateName') ?? '' }),
  };
}

function templateData(params: Params) {
  return {
    ...(params.has('LaunchTemplateData.ImageId') && {
      imageId: params.get('LaunchTemplateData.ImageId') ?? '',
    }),
    ...(params.has('LaunchTemplateData.InstanceType') && {
      instanceType: params.get('LaunchTemplateData.InstanceType') ?? '',
    }),
  };
}

/** An EC2 query list: `Name.1`, `Name.2`, ... */
function numbered(params: Params, name: string): string[] {
  const values: string[] = [];
  for (let n = 1; params.has(`${name}.${n}`); n++) values.push(params.get(`${name}.${n}`) ?? '');
  return values;
}

function templateXml(template: LaunchTemplate): string {
  return (
    element('launchTemplateId', template.id) +
    element('launchTemplateName', template.name) +
    element('createTime', isoTime(template.createdAt)) +
    element('createdBy', CREATED_BY) +
    element('defaultVersionNumber', String(template.defaultVersion)) +
    element('latestVersionNumber', String(template.latestVersion))
  );
}

function versionXml(template: LaunchTemplate, version: LaunchTemplateVersion): string {
  const { data } = version;
  return (
    element('launchTemplateId', template.id) +
    element('launchTemplateName', template.name) +
    element('versionNumber', String(version.versionNumber)) +
    (version.description === undefined ? '' : element('versionDescription', version.description)) +
    element('createTime', isoTime(version.createdAt)) +
    element('createdBy', CREATED_BY) +
    element('defaultVersion', String(template.defaultVersion === version.versionNumber)) +
    '<launchTemplateData>' +
    (data.imageId === undefined ? '' : element('imageId', data.imageId)) +
    (data.instanceType === undefined ? '' : element('instanceType', data.instanceType)) +
    '</launchTemplateData>'
  );
}
